"""The console's navigation by role, where a sign-in may lead, and its CSRF tokens."""

from __future__ import annotations

from cloudstore.web.console.nav import nav_for
from cloudstore.web.console.session import csrf_of, safe_next


def test_each_role_sees_its_own_pages_and_the_current_one_is_marked() -> None:
    hq = [(item.href, current) for item, current in nav_for("hq", "/console/orders/2026120200001")]
    assert ("/console/orders", True) in hq
    assert ("/console", False) in hq
    assert "/console/poster" not in {href for href, _ in hq}
    store = {item.href for item, _ in nav_for("store", "/console")}
    assert {"/console/poster", "/console/earnings", "/console/orders", "/console/kocs"} <= store
    assert "/console/coupons" not in store
    assert "/console/stores" not in store
    distributor = {item.href for item, _ in nav_for("distributor", "/console")}
    assert distributor == {"/console", "/console/stores"}
    assert [current for item, current in nav_for("store", "/console") if item.href == "/console"] == [True]
    # /console/stores-like prefixes are not "under" /console/store…; only whole segments count
    assert not any(current for _, current in nav_for("hq", "/console/storesX"))


def test_a_sign_in_leads_only_into_the_console() -> None:
    assert safe_next("/console/orders?status=paid") == "/console/orders?status=paid"
    for bad in (None, "", "https://evil.example/", "//evil.example", "/console//evil", "/consolex", "/s/t/S"):
        assert safe_next(bad) == "/console"


def test_csrf_tokens_follow_the_session_and_the_key() -> None:
    assert csrf_of("k1", "session-a") == csrf_of("k1", "session-a")
    assert csrf_of("k1", "session-a") != csrf_of("k1", "session-b")
    assert csrf_of("k1", "session-a") != csrf_of("k2", "session-a")
