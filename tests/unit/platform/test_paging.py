"""The one pager: a page of ``limit`` rows out of ``limit + 1``, and the cursor that resumes after it."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.paging import cut_page, decode_cursor, encode_cursor, page_start


class Row(NamedTuple):
    id: int
    rank: int


def _rows(n: int) -> list[Row]:
    return [Row(id=i + 1, rank=i % 2) for i in range(n)]


def test_extra_row_means_a_next_page_resuming_after_the_last_kept_row() -> None:
    page, cursor = cut_page(_rows(4), 3, key=lambda r: (r.id,))
    assert [r.id for r in page] == [1, 2, 3]
    assert cursor == encode_cursor(3)
    assert page_start(cursor, int, first=(0,)) == (3,)


def test_no_extra_row_is_the_last_page() -> None:
    page, cursor = cut_page(_rows(3), 3, key=lambda r: (r.id,))
    assert [r.id for r in page] == [1, 2, 3]
    assert cursor is None
    assert cut_page([], 3, key=lambda r: (r.id,)) == ([], None)


def test_compound_keys_round_trip() -> None:
    _page, cursor = cut_page(_rows(3), 2, key=lambda r: (r.rank, r.id))
    assert decode_cursor(cursor, int, int) == (1, 2)


def test_first_page_starts_at_the_given_key() -> None:
    assert page_start(None, int, int, first=(-1, 0)) == (-1, 0)
    assert page_start("", int, first=(None,)) == (None,)


@pytest.mark.parametrize("cursor", ["not base64!", encode_cursor("x"), encode_cursor(1, 2), encode_cursor(True)])
def test_bad_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(ValidationFailed):
        page_start(cursor, int, first=(0,))
