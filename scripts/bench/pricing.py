"""Benchmark the pure pricing core: prices per second for small and 20-line carts with a promotion and a coupon.

Run: ``.venv/bin/python scripts/bench/pricing.py`` (add ``--quick`` for a shorter run).
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import timeit
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from cloudstore.pricing.engine import price_cart
from cloudstore.pricing.model import (
    CartLine,
    CouponOffer,
    DeliveryPolicy,
    FeeRule,
    PricingCart,
    Promotion,
    ShipmentUnits,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
CATEGORIES = ("绿茶", "红茶", "乌龙茶", "普洱", "茶具")
POLICY = DeliveryPolicy(
    basis="per_order",
    rules=(
        FeeRule(regions=("4403", "4401"), first_fee=800, extra_fee=200),
        FeeRule(regions=("44",), first_fee=1200, extra_fee=300),
    ),
    default_rule=FeeRule(first_fee=1800, extra_fee=500),
    free_over=None,
    store_fee=500,
    no_delivery_regions=("54", "65"),
)


class Scenario(NamedTuple):
    name: str
    cart: PricingCart
    promotions: tuple[Promotion, ...]
    coupons: tuple[CouponOffer, ...]
    coupon_id: int | None


def scenario(lines: int, promotions: int, coupons: int, *, use_coupon: bool) -> Scenario:
    """``lines`` lines over two shipments, ``promotions`` scoped promotions, ``coupons`` held coupons."""
    rng = random.Random(2260)
    cart_lines = tuple(
        CartLine(
            sku=f"SKU-{n:02d}",
            product=f"P-{n // 2:02d}",
            category=CATEGORIES[n % len(CATEGORIES)],
            qty=rng.randint(1, 3),
            unit_price=rng.randint(30, 900) * 100,
        )
        for n in range(lines)
    )
    units = sum(line.qty for line in cart_lines)
    half = units // 2
    shipments = (ShipmentUnits("S-NS01", half, by_store=True), ShipmentUnits("WH-SZ", units - half))
    if half == 0:
        shipments = (ShipmentUnits("WH-SZ", units),)
    window = (NOW - timedelta(days=10), NOW + timedelta(days=10))
    promos = tuple(
        Promotion(
            code=f"PR-{n}",
            kind="percent_off" if n % 2 else "amount_off",
            value=500 + 100 * n if n % 2 else 2000 * (n + 1),
            min_goods=10000 * n,
            max_discount=5000 if n % 2 else None,
            categories=(CATEGORIES[n % len(CATEGORIES)],) if n % 3 == 0 else (),
            valid_from=window[0],
            valid_until=window[1],
        )
        for n in range(promotions)
    )
    held = tuple(
        CouponOffer(
            id=n + 1,
            code=f"C-{n}",
            kind=("amount_off", "percent_off", "free_delivery")[n % 3],
            value=(1500, 1200, 0)[n % 3],
            min_goods=5000 * n,
            max_discount=3000 if n % 3 == 1 else None,
            stackable=n % 2 == 0,
            valid_until=window[1],
        )
        for n in range(coupons)
    )
    cart = PricingCart(lines=cart_lines, shipments=shipments, mode="delivery", region="440305", store="S-NS01")
    name = f"{lines} lines, {promotions} promotions, {coupons} coupons held" + (", one used" if use_coupon else "")
    return Scenario(name, cart, promos, held, min(2, coupons) if use_coupon and coupons else None)


def measure(s: Scenario, repeats: int) -> tuple[float, str]:
    """Best-of-``repeats`` seconds per price, and the breakdown's totals."""

    def run() -> object:
        return price_cart(s.cart, POLICY, s.promotions, s.coupons, coupon_id=s.coupon_id, now=NOW)

    q = price_cart(s.cart, POLICY, s.promotions, s.coupons, coupon_id=s.coupon_id, now=NOW)
    timer = timeit.Timer(run)
    number, _ = timer.autorange()
    per = min(timer.repeat(repeat=repeats, number=number)) / number
    return per, f"goods {q.goods_total} - {q.discount_total} + fee {q.delivery_fee} = {q.total}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    scenarios = [
        scenario(3, 0, 0, use_coupon=False),
        scenario(3, 1, 1, use_coupon=True),
        scenario(20, 1, 2, use_coupon=True),
        scenario(20, 5, 10, use_coupon=True),
    ]
    print(f"pricing core benchmark: Python {platform.python_version()} on {platform.machine()}")
    print(f"command: {sys.executable} {' '.join(sys.argv)}")
    print(f"{'scenario':<56} {'prices/s':>10} {'us/price':>9}  breakdown")
    for s in scenarios:
        per, outcome = measure(s, repeats)
        print(f"{s.name:<56} {1 / per:>10,.0f} {per * 1e6:>9.1f}  {outcome}")


if __name__ == "__main__":
    main()
