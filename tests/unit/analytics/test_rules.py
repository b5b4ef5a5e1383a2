"""The analysis models' pure parts: how a window is cut into days and edges, and the RFM rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudstore.analytics.insights import window
from cloudstore.analytics.rfm import score
from cloudstore.analytics.schemas import AnalyticsPolicyDoc
from cloudstore.lib.errors import ValidationFailed

BASE = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_window_is_whole_days_and_two_edges() -> None:
    w = window(datetime(2026, 11, 3, 7, tzinfo=UTC), datetime(2026, 11, 9, 5, tzinfo=UTC))
    assert (w.d1, w.d2) == (date(2026, 11, 4), date(2026, 11, 9))
    assert (w.a1, w.b1) == (datetime(2026, 11, 3, 7, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))
    assert (w.a2, w.b2) == (datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 9, 5, tzinfo=UTC))


@given(st.integers(0, 20 * 24 * 60), st.integers(1, 20 * 24 * 60))
def test_days_and_edges_cover_the_window_exactly_once(start: int, length: int) -> None:
    since = BASE + timedelta(minutes=start)
    until = since + timedelta(minutes=length)
    w = window(since, until)
    days = (w.d2 - w.d1).days
    covered = (w.b1 - w.a1) + (w.b2 - w.a2) + timedelta(days=max(days, 0))
    assert covered == until - since
    assert (w.a1, w.b2) == (since, until)
    assert w.b1 <= w.a2


def test_a_window_needs_zones_and_order() -> None:
    with pytest.raises(ValidationFailed):
        window(datetime(2026, 11, 3), None)
    with pytest.raises(ValidationFailed):
        window(BASE, BASE)


def test_scores_follow_the_thresholds() -> None:
    p = AnalyticsPolicyDoc()
    champion = score(p, recency_days=3, first_days=200, orders=8, net_goods=400000, scanned=True, referred=False)
    assert (champion.r, champion.f, champion.m, champion.segment, champion.lifecycle) == (
        5,
        5,
        5,
        "champions",
        "active",
    )
    assert champion.tags == ("high_value", "repeat", "scanner")
    newcomer = score(p, recency_days=2, first_days=2, orders=1, net_goods=1000, scanned=False, referred=False)
    assert (newcomer.segment, newcomer.lifecycle) == ("new_customers", "new")
    lapsed = score(p, recency_days=400, first_days=500, orders=3, net_goods=5000, scanned=False, referred=True)
    assert (lapsed.r, lapsed.segment, lapsed.lifecycle, lapsed.tags) == (
        1,
        "at_risk",
        "churned",
        ("referrer", "repeat"),
    )
    prospect = score(p, recency_days=None, first_days=3, orders=0, net_goods=0, scanned=False, referred=False)
    assert (prospect.r, prospect.segment, prospect.lifecycle) == (None, "prospects", "new")
