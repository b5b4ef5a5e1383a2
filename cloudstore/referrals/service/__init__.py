"""Referrals: KOCs, touches and bindings, the commission ledger, and the order events that feed it.

The binding and commission decisions are made by :mod:`cloudstore.referrals.rules`; these modules load the
snapshot each decision needs and write the outcome back. Nothing here commits: routes run in the request's
transaction, subscribers in the order's, the release job in the worker's.

- :mod:`~cloudstore.referrals.service.kocs`: a store's KOCs;
- :mod:`~cloudstore.referrals.service.touches`: touches and the bindings they make;
- :mod:`~cloudstore.referrals.service.ledger`: reading the ledger, and settling it;
- :mod:`~cloudstore.referrals.service.attribution`: an order's attribution and commission, for HQ;
- :mod:`~cloudstore.referrals.service.subscribers`: the order events and the release job (the booking itself
  is :mod:`cloudstore.referrals.booking`).

The tenant file's KOCs are applied by :mod:`cloudstore.referrals.tenantfile`, through SQL of its own.
"""

from __future__ import annotations

from cloudstore.referrals.service.attribution import order_attribution
from cloudstore.referrals.service.kocs import KocService, new_koc_code
from cloudstore.referrals.service.ledger import LedgerService
from cloudstore.referrals.service.subscribers import (
    on_order_completed,
    on_order_paid,
    on_order_refunded,
    release_commission,
)
from cloudstore.referrals.service.touches import TouchService, record_code_touch

__all__ = (
    "KocService",
    "LedgerService",
    "TouchService",
    "new_koc_code",
    "on_order_completed",
    "on_order_paid",
    "on_order_refunded",
    "order_attribution",
    "record_code_touch",
    "release_commission",
)
