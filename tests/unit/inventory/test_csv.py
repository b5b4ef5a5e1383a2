"""Parsing stock CSV files."""

from __future__ import annotations

import pytest

from cloudstore.inventory.imports import StockLine, parse_stock_csv
from cloudstore.lib.imports import ImportFailed


def test_good_file() -> None:
    content = "Location,SKU,On_Hand\r\nWH-SZ,GT-LJ-100,40\r\n\r\nSZ-NS-01,GT-LJ-100,0\r\n"
    assert parse_stock_csv(content) == [
        StockLine(2, "WH-SZ", "GT-LJ-100", 40),
        StockLine(4, "SZ-NS-01", "GT-LJ-100", 0),
    ]


def test_bad_lines_are_named() -> None:
    content = (
        "location,sku,on_hand\n"
        "WH-SZ,A,-1\n"  # 2
        "WH-SZ,A,ten\n"  # 3
        "WH SZ,A,1\n"  # 4
        "WH-SZ,B,1\n"  # 5 fine
        "WH-SZ,B,2\n"  # 6 repeated pair
        "WH-SZ,C\n"  # 7 missing on_hand
    )
    with pytest.raises(ImportFailed) as caught:
        parse_stock_csv(content)
    assert [(e.line, e.error) for e in caught.value.errors] == [
        (2, "on_hand must be between 0 and 1000000000, not -1"),
        (3, "on_hand must be a whole number, not 'ten'"),
        (4, caught.value.errors[2].error),
        (6, "B at WH-SZ is already on line 5"),
        (7, "on_hand must be a whole number, not ''"),
    ]
    assert caught.value.errors[2].error.startswith("location 'WH SZ': Expected `str` matching regex")
    assert caught.value.extra["errors"][0] == {"line": 2, "error": "on_hand must be between 0 and 1000000000, not -1"}
