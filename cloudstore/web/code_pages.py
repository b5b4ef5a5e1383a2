"""The page a printed code opens: ``/c/{code}``, in WeChat or any phone browser.

The code names its tenant (see :mod:`cloudstore.codes.format`), so the page needs nothing else. It calls the
scan journey the mini-program's route calls, as a visitor signed in to nothing: the scan is counted and the
page says whether the item is genuine, what it is and whether this was its first scan. An unknown or malformed
code renders the same page as any other miss, with status 200.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from litestar import Controller, get
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import text

from cloudstore.checkout.scan import scan_code
from cloudstore.codes.format import parse
from cloudstore.codes.schemas import ScanCreate, ScanResult
from cloudstore.lib.db import set_tenant
from cloudstore.web.requests import page_handlers

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("CodePages",)


class CodePages(Controller):
    """The authenticity page of one code."""

    path = "/c"
    include_in_schema = False
    exception_handlers = page_handlers()

    @get("/{code:str}", name="code")
    async def code(self, code: FromPath[str], state: State) -> Template:
        """Genuine, not yet shipped, or unknown; the product, the first scan and the counts."""
        parsed = parse(code[:64])
        scan = ScanResult(result="unknown", scans=0, scanners=0, diversion=False)
        store_link = None
        if parsed is not None:
            tenant_id = parsed[0]
            async with state.db.sessions() as session, session.begin():
                await set_tenant(session, tenant_id)
                scan = await scan_code(session, tenant_id, None, ScanCreate(code=parsed[1]))
                if scan.store is not None:
                    slug = (
                        await session.execute(text("SELECT slug FROM tenants WHERE id = :t"), {"t": tenant_id})
                    ).scalar_one()
                    store_link = f"/s/{quote(slug, safe='')}/{quote(scan.store, safe='')}/"
        context: dict[str, Any] = {"scan": scan, "code": code[:64], "store_link": store_link}
        return Template(template_name="code.html", context=context)
