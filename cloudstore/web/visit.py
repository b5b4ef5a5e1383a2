"""What a browser carries between pages: its cart, and the share links it opened during this visit.

Both live in cookies so the pages need no server-side session. A cart holds only codes and quantities;
prices and shelves are read from the storefront on every page, never taken from the browser.
"""

from __future__ import annotations

import re

import msgspec

__all__ = (
    "CART_COOKIE",
    "MAX_CART_LINES",
    "TOKEN_COOKIE",
    "VISIT_COOKIE",
    "CartItem",
    "LinkOpened",
    "decode_cart",
    "decode_visit",
    "encode_cart",
    "encode_visit",
    "put_item",
)

TOKEN_COOKIE = "cs_token"
CART_COOKIE = "cs_cart"
VISIT_COOKIE = "cs_visit"
MAX_CART_LINES = 50
MAX_QTY = 999

_CODE = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_CART_ITEM = re.compile(rf"^({_CODE})/({_CODE})\*([1-9][0-9]{{0,2}})$")
_LINK = re.compile(rf"^({_CODE})/({_CODE})?(!?)$")


class CartItem(msgspec.Struct, frozen=True):
    """Units of one SKU (of ``product``) in the browser's cart."""

    product: str
    sku: str
    qty: int


class LinkOpened(msgspec.Struct, frozen=True):
    """A store's link (with a KOC's code or none) opened in this visit; ``recorded`` once its touch is written."""

    store: str
    koc: str | None
    recorded: bool


def decode_cart(value: str | None) -> list[CartItem]:
    """The cart in a cookie value; anything malformed is dropped rather than trusted."""
    items: list[CartItem] = []
    for piece in (value or "").split("~"):
        found = _CART_ITEM.match(piece)
        if found and len(items) < MAX_CART_LINES and all(i.sku != found[2] for i in items):
            items.append(CartItem(found[1], found[2], int(found[3])))
    return items


def encode_cart(items: list[CartItem]) -> str:
    """The cookie value for ``items`` (``PRODUCT/SKU*QTY`` joined by ``~``)."""
    return "~".join(f"{i.product}/{i.sku}*{i.qty}" for i in items[:MAX_CART_LINES])


def put_item(items: list[CartItem], product: str, sku: str, qty: int, *, add: bool) -> list[CartItem]:
    """``items`` with ``sku`` set to (or, with ``add``, increased by) ``qty``; 0 or less removes it."""
    current = next((i.qty for i in items if i.sku == sku), 0)
    wanted = min(current + qty if add else qty, MAX_QTY)
    rest = [i for i in items if i.sku != sku]
    if wanted <= 0:
        return rest
    if current == 0:
        return [*rest, CartItem(product, sku, wanted)][-MAX_CART_LINES:]
    return [CartItem(product, sku, wanted) if i.sku == sku else i for i in items]


def decode_visit(value: str | None) -> list[LinkOpened]:
    """The links opened during this visit (a browser session), oldest first."""
    links: list[LinkOpened] = []
    for piece in (value or "").split("~"):
        found = _LINK.match(piece)
        if found and len(links) < 20:
            links.append(LinkOpened(found[1], found[2] or None, bool(found[3])))
    return links


def encode_visit(links: list[LinkOpened]) -> str:
    """The cookie value for ``links`` (``STORE/KOC`` with ``!`` once recorded, joined by ``~``)."""
    return "~".join(f"{o.store}/{o.koc or ''}{'!' if o.recorded else ''}" for o in links[-20:])
