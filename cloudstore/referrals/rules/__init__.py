"""Pure KOC referral rules: binding, attribution and commission arithmetic.

Nothing here does I/O, awaits, or reads a clock: the service loads a snapshot, passes ``now`` (or the touch
time) in, and writes back what these functions decide. Money is integer fen, rates are integer basis points
(1 bp = 0.01%), datetimes are timezone-aware.

- :mod:`~cloudstore.referrals.rules.binding`: which store and KOC hold a consumer after a touch or a paid
  order (the reading of DESIGN.md "KOC referral attribution" is in its docstring);
- :mod:`~cloudstore.referrals.rules.attribution`: which store and KOC a paid order is credited to;
- :mod:`~cloudstore.referrals.rules.commission`: each beneficiary's share, refund reversals, release dates.
"""

from __future__ import annotations

from cloudstore.referrals.rules.attribution import Attribution, AttributionSource, attribute
from cloudstore.referrals.rules.binding import (
    AttributionModel,
    AttributionPolicy,
    Binding,
    BindingDecision,
    BindingReason,
    Touch,
    apply_touch,
    binding_is_active,
    binding_is_protected,
    renew_on_paid,
)
from cloudstore.referrals.rules.commission import (
    BP_DENOMINATOR,
    MAX_TOTAL_BP,
    Beneficiaries,
    BeneficiaryKind,
    CommissionPolicy,
    CommissionRates,
    CommissionShare,
    PaidLine,
    commission_release_at,
    compute_commission,
    rates_for,
    reconcile,
    refund_goods_split,
    validate_rates,
)

__all__ = (
    "BP_DENOMINATOR",
    "MAX_TOTAL_BP",
    "Attribution",
    "AttributionModel",
    "AttributionPolicy",
    "AttributionSource",
    "Beneficiaries",
    "BeneficiaryKind",
    "Binding",
    "BindingDecision",
    "BindingReason",
    "CommissionPolicy",
    "CommissionRates",
    "CommissionShare",
    "PaidLine",
    "Touch",
    "apply_touch",
    "attribute",
    "binding_is_active",
    "binding_is_protected",
    "commission_release_at",
    "compute_commission",
    "rates_for",
    "reconcile",
    "refund_goods_split",
    "renew_on_paid",
    "validate_rates",
)
