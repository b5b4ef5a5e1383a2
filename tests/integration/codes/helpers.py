"""Shared steps of the code tests: a generated batch, its CSV, shipments and scans."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from cloudstore.lib.db import set_tenant

if TYPE_CHECKING:
    from litestar import Litestar

    from tests.integration.network import Network
    from tests.support import Api

__all__ = ("Batch", "make_batch", "rows", "scan", "ship")


class Batch:
    """A generated batch: its number, its case codes and unit codes by case (CSV order)."""

    def __init__(self, batch_no: str, lines: list[dict[str, str]]) -> None:
        self.batch_no = batch_no
        self.lines = lines
        self.cases = [line["code"] for line in lines if line["level"] == "case"]
        self.units = [line["code"] for line in lines if line["level"] == "unit"]

    def units_of(self, case: str) -> list[str]:
        """The unit codes packed in ``case``."""
        return [line["code"] for line in self.lines if line["case"] == case]


async def make_batch(
    app: Litestar, api: Api, net: Network, units: int, per_case: int | None = None, sku: str = "TEA-1"
) -> Batch:
    """Generate a batch through the API and the worker; return it as its CSV lists it."""
    body: dict[str, Any] = {"sku": sku, "units": units}
    if per_case is not None:
        body["units_per_case"] = per_case
    r = await api.post("/v1/hq/code-batches", token=net.tenant.hq_token, json=body)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "generating"
    batch_no = r.json()["batch_no"]
    await app.state.worker.run_pending()
    r = await api.get(f"/v1/hq/code-batches/{batch_no}", token=net.tenant.hq_token)
    assert r.json()["status"] == "ready", r.text
    r = await api.get(f"/v1/hq/code-batches/{batch_no}/codes.csv", token=net.tenant.hq_token)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return Batch(batch_no, list(csv.DictReader(io.StringIO(r.text))))


async def ship(
    api: Api,
    net: Network,
    codes: list[str],
    *,
    store: str | None = None,
    distributor: str | None = None,
    token: str | None = None,
) -> Any:
    """``POST /v1/hq/code-shipments``."""
    body: dict[str, Any] = {"codes": codes}
    if store is not None:
        body["store"] = store
    if distributor is not None:
        body["distributor"] = distributor
    return await api.post("/v1/hq/code-shipments", token=token or net.tenant.hq_token, json=body)


async def scan(api: Api, net: Network, token: str, code: str, **where: Any) -> Any:
    """``POST /v1/shop/{tenant}/scans`` as the consumer of ``token``."""
    return await api.post(f"/v1/shop/{net.tenant.slug}/scans", token=token, json={"code": code, **where})


async def rows(app: Litestar, tenant_id: int, sql: str, **params: Any) -> list[Any]:
    """Rows of ``sql`` in the tenant's scope."""
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tenant_id)
        return list((await s.execute(text(sql), {"t": tenant_id, **params})).all())
