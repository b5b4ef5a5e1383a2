"""Every route of the API contract (API.md) is served and documented with problem+json errors."""

from __future__ import annotations

import re

import pytest

from tests.support import Api

CONTRACT = """
POST /v1/platform/tenants
POST /v1/auth/token
GET /healthz
POST /v1/hq/staff
POST /v1/hq/distributors
POST /v1/hq/stores
POST /v1/hq/locations
POST /v1/hq/products
POST /v1/hq/products/{code}/publish
PUT /v1/hq/stock
GET /v1/hq/stock
PUT /v1/hq/policies/routing
PUT /v1/hq/policies/attribution
PUT /v1/hq/policies/commission
GET /v1/hq/orders/{order_no}
POST /v1/hq/orders/{order_no}/refunds
GET /v1/hq/orders
POST /v1/hq/settlements
GET /v1/hq/ledger
GET /v1/store/storefront
PUT /v1/store/storefront/items/{product_code}
POST /v1/store/kocs
GET /v1/store/kocs
GET /v1/store/qr
GET /v1/store/orders
POST /v1/store/fulfilments/{id}/{action}
GET /v1/store/earnings
POST /v1/shop/{tenant}/auth/login
GET /v1/shop/{tenant}/stores/{store}/products
GET /v1/shop/{tenant}/stores/{store}/products/{code}
POST /v1/shop/{tenant}/touches
POST /v1/shop/{tenant}/orders
GET /v1/shop/{tenant}/orders
GET /v1/shop/{tenant}/orders/{order_no}
POST /v1/shop/{tenant}/orders/{order_no}/pay
GET /v1/shop/{tenant}/me/earnings
POST /v1/shop/{tenant}/orders/{order_no}/cancel
POST /v1/payments/local/notify
POST /v1/payments/wechat/notify
"""


def _shape(path: str) -> str:
    """A path with its parameter names erased, so ``{id}`` and ``{fulfilment_id}`` compare equal."""
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
async def documented(api: Api) -> dict[tuple[str, str], dict[str, object]]:
    doc = (await api.get("/schema/openapi.json")).json()
    return {
        (method.upper(), _shape(path)): op
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and "responses" in op
    }


@pytest.mark.parametrize("route", CONTRACT.split("\n")[1:-1])
async def test_contract_route_is_documented(route: str, documented: dict[tuple[str, str], dict[str, object]]) -> None:
    method, path = route.split(" ")
    op = documented.get((method, _shape(path)))
    assert op is not None, f"{route} is missing from the OpenAPI document"
    responses = op["responses"]
    assert isinstance(responses, dict)
    assert "500" in responses
    problem_content = responses["500"]["content"]
    assert "application/problem+json" in problem_content
