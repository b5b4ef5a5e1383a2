"""The storefront statement builder and title search patterns."""

from __future__ import annotations

import re

import pytest

from cloudstore.catalog.service import like_pattern
from cloudstore.stores.storefront import storefront_sql


def params(sql: str) -> set[str]:
    return set(re.findall(r"(?<![:\w]):(\w+)", sql))


def test_page_statement_binds_the_cursor_and_writes_the_page_size() -> None:
    sql = storefront_sql(rows=51)
    assert params(sql) == {"t", "store", "after_rank", "after_id"}
    assert sql.count("LIMIT 51") == 3


def test_filters_add_their_parameters() -> None:
    assert params(storefront_sql(category=True, search=True)) == {
        "t", "store", "after_rank", "after_id", "category", "pattern"
    }  # fmt: skip
    assert params(storefront_sql(detail=True)) == {"t", "store", "code"}


@pytest.mark.parametrize("rows", [0, 102, -1])
def test_page_size_is_bounded(rows: int) -> None:
    with pytest.raises(ValueError, match=str(rows)):
        storefront_sql(rows=rows)


@pytest.mark.parametrize(
    ("q", "pattern"),
    [("龙井", "%龙井%"), ("100%", "%100\\%%"), ("a_b", "%a\\_b%"), ("c:\\tea", "%c:\\\\tea%")],
)
def test_like_pattern_takes_wildcards_literally(q: str, pattern: str) -> None:
    assert like_pattern(q) == pattern
