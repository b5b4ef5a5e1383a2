"""A browser-like client of the console: its own cookies, signing in through the form with its CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_in(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


@asynccontextmanager
async def console_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a cookie jar of its own (the app's lifespan is already running)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def sign_in(c: httpx.AsyncClient, tenant: str, username: str, password: str) -> httpx.Response:
    """Open the sign-in page and post its form; returns the answer (a 303 to the console when it worked)."""
    page = await c.get("/console/login")
    assert page.status_code == 200, page.text
    form = {"csrf": csrf_in(page.text), "tenant": tenant, "username": username, "password": password, "next": ""}
    return await c.post("/console/login", data=form)


async def signed_in(c: httpx.AsyncClient, tenant: str, username: str, password: str) -> str:
    """Sign in (it must work) and return the CSRF token of the session's forms."""
    r = await sign_in(c, tenant, username, password)
    assert r.status_code == 303, r.text
    home = await c.get("/console")
    assert home.status_code == 200, home.text
    return csrf_in(home.text)
