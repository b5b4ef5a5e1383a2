"""The console's navigation: one list of pages, each with the roles that see it.

A page added elsewhere is listed here; the base template shows the items of the signed-in user's role, in
this order, and marks the one the current path is under.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudstore.auth.tokens import Role

__all__ = ("NAV", "NavItem", "nav_for")


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation."""

    label: str
    href: str
    roles: frozenset[Role]


_HQ: frozenset[Role] = frozenset({"hq"})
_STORE: frozenset[Role] = frozenset({"store"})
_DISTRIBUTOR: frozenset[Role] = frozenset({"distributor"})

NAV: tuple[NavItem, ...] = (
    NavItem("首页", "/console", frozenset({"hq", "distributor", "store"})),
    NavItem("门店", "/console/stores", _HQ | _DISTRIBUTOR),
    NavItem("KOC", "/console/kocs", _HQ | _STORE),
    NavItem("订单", "/console/orders", _HQ | _STORE),
    NavItem("售后", "/console/after-sales", _HQ | _STORE),
    NavItem("优惠券", "/console/coupons", _HQ),
    NavItem("店铺二维码", "/console/poster", _STORE),
    NavItem("收益", "/console/earnings", _STORE),
)


def nav_for(role: Role, path: str) -> list[tuple[NavItem, bool]]:
    """The items ``role`` sees, each with whether ``path`` is under it (the home item only on itself)."""
    items = [item for item in NAV if role in item.roles]
    current = max(
        (item for item in items if path == item.href or (item.href != "/console" and path.startswith(item.href + "/"))),
        key=lambda item: len(item.href),
        default=None,
    )
    return [(item, item is current) for item in items]
