"""The storefront's order page lists the shopper's after-sales of that order, and nobody else's."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

from cloudstore.web.visit import TOKEN_COOKIE
from tests.integration.network import Network, pay, place
from tests.support import Api, consumer

if TYPE_CHECKING:
    import httpx


async def _paid(api: Api, net: Network, qty: int, key: str, token: str) -> str:
    r = await place(api, net, [{"sku": "TEA-1", "qty": qty}], key=key, token=token)
    assert r.status_code == 201, r.text
    order = r.json()
    await pay(api, net, order["order_no"], order["total"], token=token)
    return str(order["order_no"])


async def _ask(api: Api, net: Network, order_no: str, qty: int, reason: str, token: str) -> dict[str, Any]:
    r = await api.post(
        f"/v1/shop/{net.tenant.slug}/orders/{order_no}/after-sales",
        token=token,
        json={"kind": "refund_only", "lines": [{"sku": "TEA-1", "qty": qty}], "reason": reason},
        headers={"Idempotency-Key": secrets.token_hex(8)},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _page(api: Api, net: Network, order_no: str, token: str) -> httpx.Response:
    return await api.get(
        f"/s/{net.tenant.slug}/{net.store}/orders/{order_no}", headers={"Cookie": f"{TOKEN_COOKIE}={token}"}
    )


def _after_sales(html: str) -> list[str]:
    """Each after-sale item of the page, as its text without tags."""
    items = re.findall(r'<li class="after-sale".*?class="dates".*?</li>', html, flags=re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip() for item in items]


async def test_the_order_page_lists_the_shoppers_own_after_sales(api: Api, network: Network) -> None:
    mine = network.consumer_token
    theirs, _ = await consumer(api, network.tenant, "neighbour")
    no = await _paid(api, network, 3, "page-a", mine)
    refunded = await _ask(api, network, no, 1, "<b>买多了</b>", mine)
    r = await api.post(f"/v1/hq/after-sales/{refunded['id']}/approve", token=network.tenant.hq_token)
    assert r.status_code == 200, r.text
    waiting = await _ask(api, network, no, 2, "包装破损", mine)
    other_no = await _paid(api, network, 1, "page-b", theirs)
    other = await _ask(api, network, other_no, 1, "邻居的理由", theirs)
    elsewhere = await _ask(api, network, await _paid(api, network, 1, "page-c", mine), 1, "另一单", mine)

    r = await _page(api, network, no, mine)
    assert r.status_code == 200, r.text
    html = r.text
    assert "<h2>售后</h2>" in html
    assert "&lt;b&gt;买多了&lt;/b&gt;" in html  # the shopper's words, escaped
    assert "<b>买多了</b>" not in html
    items = _after_sales(html)
    assert len(items) == 2, items
    # Newest first: the request waiting for a decision, then the refunded one.
    assert items[0].startswith("仅退款 待审核 预计退款 ¥25.80")
    assert "产品 P-TEA 100g × 2" in items[0]
    assert "包装破损" in items[0]
    assert re.search(r"申请 \d{4}-\d\d-\d\d \d\d:\d\d", items[0])
    assert items[1].startswith("仅退款 已退款 退款 ¥12.90")
    assert "产品 P-TEA 100g × 1" in items[1]
    assert re.search(r"申请 \S+ \S+ · 已退款 \d{4}-\d\d-\d\d \d\d:\d\d", items[1])
    assert f'data-id="{waiting["id"]}"' in html
    assert f'data-id="{refunded["id"]}"' in html
    assert f'data-id="{other["id"]}"' not in html
    assert "邻居的理由" not in html
    assert f'data-id="{elsewhere["id"]}"' not in html  # the shopper's after-sale of another order
    assert "另一单" not in html

    # The neighbour sees only their own: not this order (404), and only their request on theirs.
    r = await _page(api, network, no, theirs)
    assert r.status_code == 404
    assert "买多了" not in r.text
    assert "包装破损" not in r.text
    r = await _page(api, network, other_no, theirs)
    assert r.status_code == 200, r.text
    items = _after_sales(r.text)
    assert len(items) == 1, items
    assert "邻居的理由" in items[0]
    assert "买多了" not in r.text
    assert "包装破损" not in r.text


async def test_an_order_without_after_sales_shows_none(api: Api, network: Network) -> None:
    no = await _paid(api, network, 1, "page-none", network.consumer_token)
    r = await _page(api, network, no, network.consumer_token)
    assert r.status_code == 200, r.text
    assert "售后" not in r.text
    assert _after_sales(r.text) == []
