"""Parsing catalog CSV files: products grouped from SKU lines, errors named by line number."""

from __future__ import annotations

import pytest

from cloudstore.catalog.imports import parse_catalog_csv
from cloudstore.catalog.schemas import ProductCreate, SkuCreate
from cloudstore.lib.imports import ImportFailed, LineError

HEADER = "product_code,title,category,sku_code,spec,price,min_price,max_price,description\n"


def errors(content: str) -> list[LineError]:
    with pytest.raises(ImportFailed) as caught:
        parse_catalog_csv(content)
    return caught.value.errors


def test_lines_of_one_product_are_grouped_and_bands_default_to_the_price() -> None:
    content = (
        "\ufeff" + HEADER + "GT-LJ,西湖龙井,绿茶,GT-LJ-100,100g罐装,26800,24800,29800,明前特级\n"
        "GT-LJ,西湖龙井,绿茶,GT-LJ-250,250g礼盒装,62800,,,\n"
        "\n"
        'TW-GW,"白瓷盖碗, 景德镇",茶具,TW-GW-150,150ml,8800,,9800,\n'
    )
    seen: list[tuple[int, int]] = []
    rows = parse_catalog_csv(content, progress=lambda done, total: seen.append((done, total)))
    assert [r.product for r in rows] == [
        ProductCreate(
            code="GT-LJ",
            title="西湖龙井",
            category="绿茶",
            description="明前特级",
            skus=[
                SkuCreate(code="GT-LJ-100", spec="100g罐装", price=26800, min_price=24800, max_price=29800),
                SkuCreate(code="GT-LJ-250", spec="250g礼盒装", price=62800),
            ],
        ),
        ProductCreate(
            code="TW-GW",
            title="白瓷盖碗, 景德镇",
            category="茶具",
            skus=[SkuCreate(code="TW-GW-150", spec="150ml", price=8800, max_price=9800)],
        ),
    ]
    assert [(r.line, r.sku_lines) for r in rows] == [
        (2, {"GT-LJ-100": 2, "GT-LJ-250": 3}),
        (5, {"TW-GW-150": 5}),
    ]
    assert seen[-1] == (3, 3)


def test_description_column_is_optional() -> None:
    rows = parse_catalog_csv(HEADER.replace(",description", "") + "P1,Tea,绿茶,S1,100g,100,,\n")
    assert rows[0].product.description == ""


def test_every_bad_line_is_reported() -> None:
    content = HEADER + (
        "P1,Tea,绿茶,S0,100g,100,,,\n"  # 2: fine
        "P1,Tea,绿茶,S1,100g,12.5,,,\n"  # 3: not a whole number
        "P1,Tea,绿茶,S2,100g,100,120,150,\n"  # 4: band does not hold the price
        "P1,Tea,红茶,S3,100g,100,,,\n"  # 5: category differs from the product's first line
        "P2,Tea,绿茶,S4,100g,100,,,\n"  # 6: fine
        "P2,Tea,绿茶,S4,200g,100,,,\n"  # 7: SKU repeated
        "bad code,Tea,绿茶,S5,100g,100,,,\n"  # 8: product code pattern
        "P3,,绿茶,S6,100g,100,,,\n"  # 9: empty title
        "P4,Tea,绿茶,S7,100g,0,,,\n"  # 10: price must be positive
        "P5,Tea,绿茶,S8,100g,100,,,,extra\n"  # 11: too many cells
    )
    found = errors(content)
    assert [e.line for e in found] == [3, 4, 5, 7, 8, 9, 10, 11]
    messages = [e.error for e in found]
    assert messages[0] == "price must be a whole number, not '12.5'"
    assert messages[1] == "price 100 must lie within min_price 120 and max_price 150"
    assert messages[2] == "product 'P1': title or category differs from line 2"
    assert messages[3] == "SKU 'S4' is already on line 6"
    assert messages[4].startswith("product_code 'bad code': Expected `str` matching regex")
    assert messages[5] == "title: Expected `str` of length >= 1"
    assert messages[6] == "price must be between 1 and 100000000, not 0"
    assert messages[7] == "10 cells but the header has 9"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("product_code,title,category,sku_code,spec,price\n", "missing column 'min_price'"),
        (HEADER.replace("description", "colour"), "unknown column 'colour'"),
        ("", "missing column 'product_code'"),
    ],
)
def test_header_problems_are_line_1(header: str, message: str) -> None:
    found = errors(header + "P1,Tea,绿茶,S1,100g,100,,,\n")
    assert found[0].line == 1
    assert message in found[0].error
