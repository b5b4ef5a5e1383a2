"""The app without the analytics subscribers, for measuring what maintaining the analytics rows costs.

``uvicorn --factory analytics_app:app_without_analytics`` (with ``scripts/bench`` on ``PYTHONPATH``).
"""

from __future__ import annotations

from litestar import Litestar

from cloudstore import wiring
from cloudstore.analytics import maintain
from cloudstore.app import create_app

ANALYTICS = {
    maintain.on_order_paid,
    maintain.on_order_refunded,
    maintain.on_touch,
    maintain.on_consumer_bound,
}


def app_without_analytics() -> Litestar:
    """``create_app()`` with every analytics subscriber left out of the event bus."""
    wiring.SUBSCRIBERS = {
        kind: tuple(fn for fn in fns if fn not in ANALYTICS) for kind, fns in wiring.SUBSCRIBERS.items()
    }
    return create_app()
