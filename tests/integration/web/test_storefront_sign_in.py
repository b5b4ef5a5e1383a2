"""The storefront's sign-in page: the token cookie it sets lasts as long as the token."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.integration.web.console import console_client

if TYPE_CHECKING:
    from litestar import Litestar

    from tests.integration.network import Network


async def test_the_sign_in_cookie_lasts_as_long_as_the_token(app: Litestar, network: Network) -> None:
    base = f"/s/{network.tenant.slug}/{network.store}"
    ttl = app.state.tokens.ttl.total_seconds()
    async with console_client(app) as c:
        r = await c.post(f"{base}/login", data={"name": "cookie-taster", "next": ""})
        assert r.status_code == 303, r.text
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("cs_token="))
        lasts = re.search(r"Max-Age=(\d+)", cookie)
        assert lasts is not None, cookie
        assert ttl - 60 <= int(lasts.group(1)) <= ttl
        assert f"Path=/s/{network.tenant.slug}" in cookie
        # The cookie signs the next page in.
        page = await c.get(f"{base}/orders")
        assert page.status_code == 200, page.text
