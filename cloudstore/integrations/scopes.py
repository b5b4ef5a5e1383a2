"""Which HQ routes an API key may call, and with which scope: the one list (any route not named refuses keys)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ("ROUTE_SCOPES",)

#: ``(method, path template) → scope``. A key with ``location`` acts only on that location's fulfilments and
#: stock (checked where those are touched), and on the after-sales of orders with a fulfilment there.
ROUTE_SCOPES: Mapping[tuple[str, str], str] = {
    ("GET", "/v1/hq/orders"): "orders:read",
    ("GET", "/v1/hq/orders/{order_no}"): "orders:read",
    ("POST", "/v1/hq/fulfilments/{fulfilment_id}/{action}"): "fulfilments:write",
    ("GET", "/v1/hq/after-sales"): "orders:read",
    ("POST", "/v1/hq/after-sales/{after_sale_id}/{action}"): "fulfilments:write",
    ("GET", "/v1/hq/stock"): "stock:write",
    ("PUT", "/v1/hq/stock"): "stock:write",
    ("GET", "/v1/hq/stock/movements"): "stock:write",
    ("GET", "/v1/hq/categories"): "catalog:write",
    ("GET", "/v1/hq/products"): "catalog:write",
    ("POST", "/v1/hq/products"): "catalog:write",
    ("GET", "/v1/hq/products/{code}"): "catalog:write",
    ("PATCH", "/v1/hq/products/{code}"): "catalog:write",
    ("POST", "/v1/hq/products/{code}/skus"): "catalog:write",
    ("PATCH", "/v1/hq/products/{code}/skus/{sku}"): "catalog:write",
    ("POST", "/v1/hq/products/{code}/publish"): "catalog:write",
    ("POST", "/v1/hq/products/{code}/archive"): "catalog:write",
    ("POST", "/v1/hq/code-shipments"): "codes:write",
}
