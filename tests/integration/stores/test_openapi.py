"""Every catalog, store and inventory route is in the OpenAPI document with the errors it can answer."""

from __future__ import annotations

from tests.support import Api

ROUTES = {
    ("post", "/v1/hq/distributors"): {"201", "401", "403", "409", "422"},
    ("get", "/v1/hq/distributors"): {"200", "401", "403", "422"},
    ("get", "/v1/hq/distributors/{code}"): {"200", "401", "403", "404"},
    ("patch", "/v1/hq/distributors/{code}"): {"200", "401", "403", "404", "422"},
    ("post", "/v1/hq/distributors/{code}/archive"): {"200", "401", "403", "404"},
    ("post", "/v1/hq/locations"): {"201", "401", "403", "409", "422"},
    ("get", "/v1/hq/locations"): {"200", "401", "403", "422"},
    ("get", "/v1/hq/locations/{code}"): {"200", "401", "403", "404"},
    ("patch", "/v1/hq/locations/{code}"): {"200", "401", "403", "404", "409", "422"},
    ("post", "/v1/hq/locations/{code}/archive"): {"200", "401", "403", "404", "409"},
    ("post", "/v1/hq/stores"): {"201", "401", "403", "409", "422"},
    ("get", "/v1/hq/stores"): {"200", "401", "403", "422"},
    ("get", "/v1/hq/stores/{code}"): {"200", "401", "403", "404"},
    ("patch", "/v1/hq/stores/{code}"): {"200", "401", "403", "404", "422"},
    ("post", "/v1/hq/stores/{code}/archive"): {"200", "401", "403", "404"},
    ("post", "/v1/hq/products"): {"201", "401", "403", "409", "422"},
    ("get", "/v1/hq/products"): {"200", "401", "403", "422"},
    ("get", "/v1/hq/products/{code}"): {"200", "401", "403", "404"},
    ("patch", "/v1/hq/products/{code}"): {"200", "401", "403", "404", "422"},
    ("post", "/v1/hq/products/{code}/publish"): {"200", "401", "403", "404", "409"},
    ("post", "/v1/hq/products/{code}/archive"): {"200", "401", "403", "404"},
    ("post", "/v1/hq/products/{code}/skus"): {"201", "401", "403", "404", "409", "422"},
    ("patch", "/v1/hq/products/{code}/skus/{sku}"): {"200", "401", "403", "404", "409", "422"},
    ("get", "/v1/hq/categories"): {"200", "401", "403"},
    ("put", "/v1/hq/stock"): {"200", "401", "403", "409", "422"},
    ("get", "/v1/hq/stock"): {"200", "401", "403", "404", "422"},
    ("get", "/v1/hq/stock/movements"): {"200", "401", "403", "404", "422"},
    ("get", "/v1/store/storefront"): {"200", "401", "403", "404"},
    ("put", "/v1/store/storefront/items/{product_code}"): {"200", "401", "403", "404", "422"},
    ("get", "/v1/store/qr"): {"200", "401", "403", "404", "422"},
    ("get", "/v1/shop/{tenant}/stores/{store}"): {"200", "404"},
    ("get", "/v1/shop/{tenant}/stores/{store}/products"): {"200", "404", "422"},
    ("get", "/v1/shop/{tenant}/stores/{store}/products/{code}"): {"200", "404"},
    ("get", "/v1/distributor/stores"): {"200", "401", "403", "422"},
    ("get", "/v1/distributor/stock"): {"200", "401", "403", "404", "422"},
}


async def test_routes_and_their_errors_are_documented(api: Api) -> None:
    doc = (await api.get("/schema/openapi.json")).json()
    for (method, path), statuses in ROUTES.items():
        operation = doc["paths"][path][method]
        # Litestar adds 400 (a body or parameter that cannot be decoded) to routes that take any input.
        assert set(operation["responses"]) - {"400"} == statuses | {"500"}, (method, path)
        for status in statuses - {"200", "201"}:
            assert "application/problem+json" in operation["responses"][status]["content"], (method, path, status)
    shop = doc["paths"]["/v1/shop/{tenant}/stores/{store}/products"]["get"]
    assert shop["security"] == [{}]  # public
    assert {p["name"] for p in shop["parameters"]} >= {"tenant", "store", "category", "q", "cursor", "limit"}
    qr = doc["paths"]["/v1/store/qr"]["get"]["responses"]["200"]
    assert "image/png" in qr["content"]
    assert doc["components"]["schemas"]["ShopSku"]["properties"]["shelf"]["enum"] == ["in_store", "cloud", "sold_out"]
