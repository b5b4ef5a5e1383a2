"""The cart and visit cookies: what survives a round trip, and what a tampered cookie cannot do."""

from __future__ import annotations

from cloudstore.web.visit import (
    MAX_CART_LINES,
    CartItem,
    LinkOpened,
    decode_cart,
    decode_visit,
    encode_cart,
    encode_visit,
    put_item,
)


def test_a_cart_survives_its_cookie() -> None:
    items = [CartItem("P-LJ", "LJ-100", 2), CartItem("P-CUP", "CUP-1", 1)]
    assert decode_cart(encode_cart(items)) == items


def test_a_tampered_cart_keeps_only_well_formed_lines() -> None:
    value = "P-LJ/LJ-100*2~P-X/../etc*1~P-Y/Y-1*0~P-Z/Z-1*1000~P-LJ/LJ-100*5~P-CUP/CUP-1*3"
    assert decode_cart(value) == [CartItem("P-LJ", "LJ-100", 2), CartItem("P-CUP", "CUP-1", 3)]
    assert decode_cart(None) == []
    assert decode_cart("") == []


def test_a_cart_holds_at_most_fifty_lines() -> None:
    value = "~".join(f"P/S{i}*1" for i in range(80))
    assert len(decode_cart(value)) == MAX_CART_LINES


def test_putting_items() -> None:
    items = put_item([], "P", "S", 1, add=True)
    items = put_item(items, "P", "S", 2, add=True)
    assert items == [CartItem("P", "S", 3)]
    items = put_item(items, "Q", "T", 1, add=True)
    assert put_item(items, "P", "S", 5, add=False) == [CartItem("P", "S", 5), CartItem("Q", "T", 1)]
    assert put_item(items, "P", "S", 0, add=False) == [CartItem("Q", "T", 1)]
    assert put_item(items, "P", "S", 5000, add=True)[0].qty == 999


def test_the_links_of_a_visit_survive_their_cookie() -> None:
    links = [LinkOpened("S-NS", "K1", recorded=True), LinkOpened("S-NS", None, recorded=False)]
    assert encode_visit(links) == "S-NS/K1!~S-NS/"
    assert decode_visit(encode_visit(links)) == links
    assert decode_visit("S-NS/K1!~bad value~/x") == [LinkOpened("S-NS", "K1", recorded=True)]
