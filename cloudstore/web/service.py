"""What the storefront pages show, assembled from the services the JSON routes use.

Nothing here decides a shelf, a price or a route: shelves and prices come from
:class:`~cloudstore.stores.storefront.StorefrontService`, orders and payments from their own services. This
module only arranges their answers for a page (which shelf a product is listed under, the cart's lines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import NotFound
from cloudstore.pricing.service import CouponService
from cloudstore.stores.schemas import ShopProduct, ShopProductDetail

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    from cloudstore.pricing.schemas import CouponRead
    from cloudstore.stores.storefront import StorefrontService
    from cloudstore.web.visit import CartItem

__all__ = ("CartLine", "CartView", "Shelves", "offered_coupons", "price_cart", "served_regions", "shelves_of")


class Shelves(msgspec.Struct):
    """A storefront page's products: the store's pinned ones, then each on the best shelf one of its SKUs is on."""

    pinned: list[ShopProduct]
    in_store: list[ShopProduct]
    cloud: list[ShopProduct]
    sold_out: list[ShopProduct]


def _best_shelf(product: ShopProduct) -> str:
    shelves = {s.shelf for s in product.skus}
    return next((s for s in ("in_store", "cloud") if s in shelves), "sold_out")


def shelves_of(products: list[ShopProduct]) -> Shelves:
    """Split a page of the storefront: pinned first (as the store curated), the rest by shelf."""
    shelves = Shelves(pinned=[], in_store=[], cloud=[], sold_out=[])
    for product in products:
        if product.pinned:
            shelves.pinned.append(product)
        else:
            getattr(shelves, _best_shelf(product)).append(product)
    return shelves


class CartLine(msgspec.Struct):
    """A cart item as the storefront prices and shelves it now."""

    product: str
    title: str
    sku: str
    spec: str
    qty: int
    price: int
    shelf: str
    amount: int


class CartView(msgspec.Struct):
    """The cart's lines at the store's current prices; items no longer on sale are left out."""

    lines: list[CartLine]
    goods_total: int
    units: int

    @property
    def orderable(self) -> bool:
        """Something is in the cart and nothing in it is sold out."""
        return bool(self.lines) and all(line.shelf != "sold_out" for line in self.lines)


async def price_cart(storefront: StorefrontService, tenant_id: int, store: str, items: list[CartItem]) -> CartView:
    """Read each product in the cart from ``store``'s storefront (one statement each) and price its lines.

    The caller has already read the store, so a product that is not found is one taken off sale: it is dropped.
    """
    products: dict[str, ShopProductDetail | None] = {}
    for item in items:
        if item.product not in products:
            try:
                products[item.product] = await storefront.product(tenant_id, store, item.product)
            except NotFound:  # unpublished or hidden since it was added; the store itself was read before
                products[item.product] = None
    lines: list[CartLine] = []
    for item in items:
        product = products[item.product]
        sku = next((s for s in product.skus if s.code == item.sku), None) if product else None
        if product is None or sku is None:
            continue
        lines.append(
            CartLine(
                product=product.code,
                title=product.title,
                sku=sku.code,
                spec=sku.spec,
                qty=item.qty,
                price=sku.price,
                shelf=sku.shelf,
                amount=sku.price * item.qty,
            )
        )
    return CartView(lines=lines, goods_total=sum(line.amount for line in lines), units=sum(i.qty for i in items))


_REGIONS = text(
    """
    SELECT code FROM (
        SELECT s.region AS code FROM stores s WHERE s.tenant_id = :t AND s.status = 'active'
        UNION
        SELECT unnest(d.regions) FROM distributors d WHERE d.tenant_id = :t AND d.status = 'active'
        UNION
        SELECT unnest(l.regions) FROM locations l WHERE l.tenant_id = :t AND l.status = 'active' AND l.kind = 'regional'
    ) served ORDER BY code
    """
)


async def served_regions(session: AsyncSession | AsyncConnection, tenant_id: int) -> list[str]:
    """The GB/T 2260 codes the brand serves: its stores' districts and its distributors' and warehouses' regions."""
    return [str(code) for code in (await session.execute(_REGIONS, {"t": tenant_id})).scalars()]


async def offered_coupons(session: AsyncSession, tenant_id: int, store: str, now: datetime) -> list[CouponRead]:
    """The coupons a shopper of ``store`` may still claim: the brand's and the store's own, not used up or over.

    Whether a claim succeeds is the coupon service's to decide; this only chooses which to offer.
    """
    offered: list[CouponRead] = []
    cursor: str | None = None
    while True:
        page = await CouponService(session).list(tenant_id, cursor=cursor, limit=100)
        offered.extend(
            c
            for c in page.items
            if c.store in (None, store)
            and (c.total is None or c.claimed < c.total)
            and (c.valid_until is None or c.valid_until > now)
        )
        if page.next_cursor is None or len(offered) >= 50:
            return offered[:50]
        cursor = page.next_cursor
