"""The nesting check counts brackets outside strings only, with or without escapes."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from cloudstore.http.nesting import MAX_DEPTH, json_too_deep


def _nest(depth: int, leaf: object = 1) -> object:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def test_limit_is_exact() -> None:
    assert not json_too_deep(msgspec.json.encode(_nest(MAX_DEPTH)))
    assert json_too_deep(msgspec.json.encode(_nest(MAX_DEPTH + 1)))
    assert json_too_deep(b"[" * 5000)


def test_brackets_inside_strings_do_not_count() -> None:
    assert not json_too_deep(msgspec.json.encode(["[" * 500, "{" * 500]))
    assert not json_too_deep(msgspec.json.encode(['a"[' * 200]))
    # A string of closers cannot hide real depth.
    assert json_too_deep(msgspec.json.encode(["]" * 500, _nest(MAX_DEPTH + 5)]))
    assert json_too_deep(msgspec.json.encode(['\\"]' * 100, _nest(MAX_DEPTH + 5)]))


@given(st.recursive(st.none() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)))
def test_agrees_with_the_real_depth(value: object) -> None:
    def depth(v: object) -> int:
        if isinstance(v, list):
            return 1 + max(map(depth, v), default=0)
        if isinstance(v, dict):
            return 1 + max(map(depth, v.values()), default=0)
        return 0

    body = msgspec.json.encode(value)
    assert json_too_deep(body, 3) == (depth(value) > 3)
