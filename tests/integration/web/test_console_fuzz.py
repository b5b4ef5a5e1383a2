"""Every console route, asked with whatever a browser (or someone posing as one) could send: any path value, query
and form field, with and without a valid session and CSRF token. No answer may be a 5xx.

The OpenAPI fuzzing (``scripts/fuzz``) cannot reach these pages: they are left out of the schema.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.web.console import console_client, signed_in
from tests.support import STAFF_PASSWORD, staff_token

if TYPE_CHECKING:
    import httpx
    from litestar import Litestar

    from tests.integration.network import Network
    from tests.support import Api

_PARAM = re.compile(r"\{(\w+):(\w+)\}")
_FIELDS = (
    "csrf",
    "status",
    "store",
    "tracking_no",
    "tenant",
    "restock",
    "region",
    "phone",
    "name",
    "location",
    "carrier",
    "order_no",
    "next",
    "cursor",
    "koc",
    "after_sale",
    "done",
    "next_path",
    "username",
    "password",
)
_NASTY = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1.5",
            "1e309",
            "NaN",
            "99999999999999999999999",
            "\x00",
            "null",
            "[]",
            "{}",
            "a" * 3000,
            "SZ-NS-01",
            "WH-CN",
            "TEA-1",
            "requested",
            "approved",
            "2026-02-30",
            "../../etc/passwd",
            "//evil.example",
        ]
    ),
    st.integers().map(str),
    st.sampled_from(["ship", "deliver", "ready", "pickup", "approve", "reject", "receive", "refund", "cancel"]),
)
_INT_PATH = st.one_of(
    st.integers(min_value=1, max_value=40),  # ids that exist
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 2**63, -(2**63) - 1]),
)


def _console_routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path template) of every console route but signing out (which would end the session)."""
    found = {
        (method, route.path)
        for route in app.routes
        if route.path.startswith("/console") and not route.path.startswith("/console/static")
        for method in getattr(route, "methods", ())
        if method in ("GET", "POST") and route.path != "/console/logout"
    }
    return sorted(found)


def _request() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "route": st.integers(min_value=0, max_value=10_000),
            "path": st.lists(st.one_of(_INT_PATH.map(str), _NASTY), min_size=3, max_size=3),
            "query": st.dictionaries(st.sampled_from(_FIELDS), _NASTY, max_size=3),
            "form": st.dictionaries(st.sampled_from(_FIELDS), _NASTY, max_size=5),
            "real_csrf": st.sampled_from([True, True, True, False]),  # mostly past the CSRF check, into the handler
        }
    )


def _path(template: str, values: list[str]) -> str:
    counter = iter(values * 2)

    def fill(match: re.Match[str]) -> str:
        value = next(counter)
        if match.group(2) == "int":
            value = value if re.fullmatch(r"-?\d+", value) else "7"
        return quote(value, safe="") or "x"

    return _PARAM.sub(fill, template)


async def _ask(c: httpx.AsyncClient, routes: list[tuple[str, str]], csrf: str | None, case: dict[str, Any]) -> None:
    method, template = routes[case["route"] % len(routes)]
    path = _path(template, case["path"])
    form = dict(case["form"])
    if case["real_csrf"] and csrf is not None:
        form["csrf"] = csrf
    if method == "GET":
        r = await c.get(path, params=case["query"])
    else:
        r = await c.post(path, params=case["query"], data=form)
    assert r.status_code < 500, (method, path, case, r.status_code, r.text[:500])


_STORE_ACCOUNTS: set[str] = set()
_SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@_SETTINGS
@given(case=_request())
async def test_hq_cannot_make_the_console_fail(app: Litestar, network: Network, case: dict[str, Any]) -> None:
    routes = _console_routes(app)
    t = network.tenant
    async with console_client(app) as c:
        csrf = await signed_in(c, t.slug, t.admin_username, t.admin_password)
        await _ask(c, routes, csrf, case)


@_SETTINGS
@given(case=_request())
async def test_a_store_or_a_stranger_cannot_make_the_console_fail(
    app: Litestar, api: Api, network: Network, case: dict[str, Any]
) -> None:
    routes = _console_routes(app)
    username = "fuzz-store"
    async with console_client(app) as stranger:
        await _ask(stranger, routes, None, case)
    if network.tenant.slug not in _STORE_ACCOUNTS:  # one account per tenant, for all the examples
        await staff_token(api, network.tenant, username=username, role="store", store=network.store)
        _STORE_ACCOUNTS.add(network.tenant.slug)
    async with console_client(app) as c:
        csrf = await signed_in(c, network.tenant.slug, username, STAFF_PASSWORD)
        await _ask(c, routes, csrf, case)


async def test_the_console_has_routes_to_ask(app: Litestar) -> None:
    routes = _console_routes(app)
    assert len(routes) >= 15, routes
    assert ("POST", "/console/after-sales/{after_sale_id:int}/{action:str}") in routes
