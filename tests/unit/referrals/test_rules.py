"""Unit tests for the pure referral rules: binding, attribution, commission."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from cloudstore.referrals.rules import (
    Attribution,
    AttributionModel,
    AttributionPolicy,
    Beneficiaries,
    BeneficiaryKind,
    Binding,
    BindingDecision,
    BindingReason,
    CommissionPolicy,
    CommissionRates,
    CommissionShare,
    PaidLine,
    Touch,
    apply_touch,
    attribute,
    binding_is_active,
    commission_release_at,
    compute_commission,
    rates_for,
    reconcile,
    refund_goods_split,
    renew_on_paid,
    validate_rates,
)

T0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

FIRST = AttributionPolicy(model=AttributionModel.FIRST_TOUCH, protection_days=15, binding_days=30)
LAST = AttributionPolicy(model=AttributionModel.LAST_TOUCH, protection_days=15, binding_days=30)


def bound(store: str = "s1", koc: str | None = "k1", policy: AttributionPolicy = FIRST, at: datetime = T0) -> Binding:
    decision = touch(None, store, koc, at, policy)
    assert decision.binding is not None
    return decision.binding


def touch(
    current: Binding | None,
    store: str,
    koc: str | None,
    at: datetime,
    policy: AttributionPolicy = FIRST,
    *,
    consumer_koc: str | None = None,
    koc_bound_koc: str | None = None,
) -> BindingDecision:
    return apply_touch(
        current,
        Touch(store=store, koc=koc, at=at),
        policy,
        consumer_koc=consumer_koc,
        koc_bound_koc=koc_bound_koc,
    )


# ------------------------------------------------------------------------------------------ policy


def test_default_policy_matches_design() -> None:
    policy = AttributionPolicy()
    assert policy.model is AttributionModel.FIRST_TOUCH
    assert (policy.protection_days, policy.binding_days, policy.self_referral) == (15, 30, False)


@pytest.mark.parametrize(
    ("protection_days", "binding_days", "problem"),
    [(-1, 30, "protection_days"), (0, 0, "binding_days"), (31, 30, "must not exceed")],
)
def test_policy_rejects_impossible_windows(protection_days: int, binding_days: int, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        AttributionPolicy(protection_days=protection_days, binding_days=binding_days)


def test_policy_decoded_from_settings_is_validated() -> None:
    with pytest.raises(msgspec.ValidationError, match="protection_days"):
        msgspec.convert({"protection_days": -3}, AttributionPolicy)
    policy = msgspec.convert({"model": "last_touch", "binding_days": None}, AttributionPolicy)
    assert policy.model is AttributionModel.LAST_TOUCH
    assert policy.binding_days is None


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Touch(store="s1", koc=None, at=datetime(2025, 3, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        attribute(
            order_store=None,
            order_koc=None,
            binding=None,
            consumer_koc=None,
            policy=FIRST,
            now=datetime(2025, 3, 1),
        )


# ----------------------------------------------------------------------------------------- binding


def test_first_touch_binds_with_protection_and_validity() -> None:
    decision = touch(None, "s1", "k1", T0)
    assert decision == BindingDecision(
        binding=Binding(store="s1", koc="k1", bound_at=T0, protected_until=T0 + 15 * DAY, expires_at=T0 + 30 * DAY),
        changed=True,
        reason=BindingReason.NEW,
    )
    assert decision.reason == "new"


def test_store_link_without_koc_binds_store_only() -> None:
    decision = touch(None, "s1", None, T0)
    assert decision.binding is not None
    assert (decision.binding.store, decision.binding.koc, decision.reason) == ("s1", None, "new")


@pytest.mark.parametrize("policy", [FIRST, LAST], ids=["first_touch", "last_touch"])
@pytest.mark.parametrize(
    ("offset", "reason", "changed"),
    [(-SECOND, "protected", False), (timedelta(0), "rebound", True), (SECOND, "rebound", True)],
    ids=["1s-before-end", "at-end", "1s-after-end"],
)
def test_other_link_is_held_off_exactly_until_protection_ends(
    policy: AttributionPolicy, offset: timedelta, reason: str, changed: bool
) -> None:
    current = bound(policy=policy)
    at = current.protected_until + offset
    decision = touch(current, "s2", "k2", at, policy)
    assert (decision.reason, decision.changed) == (reason, changed)
    assert decision.binding is not None
    if changed:
        assert (decision.binding.store, decision.binding.koc) == ("s2", "k2")
        assert decision.binding.bound_at == at
        assert decision.binding.protected_until == at + 15 * DAY
        assert decision.binding.expires_at == at + 30 * DAY
    else:
        assert decision.binding == current


@pytest.mark.parametrize("policy", [FIRST, LAST], ids=["first_touch", "last_touch"])
def test_other_koc_of_same_store_is_also_held_off_by_protection(policy: AttributionPolicy) -> None:
    current = bound(policy=policy)
    decision = touch(current, "s1", "k2", T0 + DAY, policy)
    assert (decision.binding, decision.changed, decision.reason) == (current, False, "protected")


@pytest.mark.parametrize("policy", [FIRST, LAST], ids=["first_touch", "last_touch"])
def test_same_link_during_protection_changes_nothing(policy: AttributionPolicy) -> None:
    current = bound(policy=policy)
    decision = touch(current, "s1", "k1", current.protected_until - SECOND, policy)
    assert (decision.binding, decision.changed, decision.reason) == (current, False, "same")


def test_first_touch_same_link_after_protection_does_not_refresh() -> None:
    current = bound(policy=FIRST)
    decision = touch(current, "s1", "k1", current.protected_until, FIRST)
    assert (decision.binding, decision.changed, decision.reason) == (current, False, "same")


def test_last_touch_same_link_after_protection_restarts_windows() -> None:
    current = bound(policy=LAST)
    at = current.protected_until + 3 * DAY
    decision = touch(current, "s1", "k1", at, LAST)
    assert decision.changed
    assert decision.reason == "refreshed"
    assert decision.binding == Binding(
        store="s1", koc="k1", bound_at=at, protected_until=at + 15 * DAY, expires_at=at + 30 * DAY
    )


def test_first_touch_and_last_touch_agree_on_other_links_after_protection() -> None:
    first = touch(bound(policy=FIRST), "s2", "k2", T0 + 20 * DAY, FIRST)
    last = touch(bound(policy=LAST), "s2", "k2", T0 + 20 * DAY, LAST)
    assert first == last
    assert first.reason == "rebound"


@pytest.mark.parametrize("policy", [FIRST, LAST], ids=["first_touch", "last_touch"])
def test_plain_store_link_never_strips_the_stores_koc(policy: AttributionPolicy) -> None:
    current = bound(policy=policy)
    for at in (T0 + DAY, T0 + 20 * DAY):
        decision = touch(current, "s1", None, at, policy)
        assert (decision.binding, decision.changed, decision.reason) == (current, False, "same")


def test_store_only_binding_can_be_taken_by_a_koc_after_protection_only() -> None:
    current = bound(koc=None)
    assert touch(current, "s1", "k1", T0 + DAY).reason == "protected"
    decision = touch(current, "s1", "k1", T0 + 15 * DAY)
    assert decision.reason == "rebound"
    assert decision.binding is not None
    assert decision.binding.koc == "k1"


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-SECOND, "rebound"), (timedelta(0), "expired_rebound"), (SECOND, "expired_rebound")],
    ids=["1s-before-expiry", "at-expiry", "1s-after-expiry"],
)
def test_binding_expires_exactly_at_expires_at(offset: timedelta, reason: str) -> None:
    current = bound()
    assert current.expires_at is not None
    at = current.expires_at + offset
    assert binding_is_active(current, at) is (offset < timedelta(0))
    decision = touch(current, "s2", "k2", at)
    assert (decision.reason, decision.changed) == (reason, True)
    assert decision.binding is not None
    assert (decision.binding.store, decision.binding.koc, decision.binding.bound_at) == ("s2", "k2", at)


def test_expired_binding_is_rebound_even_by_the_same_link() -> None:
    current = bound()
    assert current.expires_at is not None
    decision = touch(current, "s1", "k1", current.expires_at)
    assert decision.reason == "expired_rebound"
    assert decision.binding is not None
    assert decision.binding.bound_at == current.expires_at
    assert decision.binding.protected_until == current.expires_at + 15 * DAY


def test_permanent_binding_never_expires() -> None:
    policy = AttributionPolicy(binding_days=None)
    current = bound(policy=policy)
    assert current.expires_at is None
    assert binding_is_active(current, T0 + 100_000 * DAY)
    assert touch(current, "s1", "k1", T0 + 3650 * DAY, policy).reason == "same"
    later = touch(current, "s2", "k2", T0 + 3650 * DAY, policy)
    assert later.reason == "rebound"
    assert later.binding is not None
    assert later.binding.expires_at is None


def test_zero_protection_lets_the_next_link_rebind_at_once() -> None:
    policy = AttributionPolicy(protection_days=0)
    current = bound(policy=policy)
    assert touch(current, "s2", "k2", T0, policy).reason == "rebound"


# ----------------------------------------------------------------------------- self-referral, loops


def test_self_touch_without_binding_binds_store_only() -> None:
    decision = touch(None, "s1", "k1", T0, consumer_koc="k1")
    assert decision.changed
    assert decision.reason == "self_referral"
    assert decision.binding == Binding(
        store="s1", koc=None, bound_at=T0, protected_until=T0 + 15 * DAY, expires_at=T0 + 30 * DAY
    )


@pytest.mark.parametrize("at", [T0 + DAY, T0 + 20 * DAY], ids=["protected", "after-protection"])
@pytest.mark.parametrize("policy", [FIRST, LAST], ids=["first_touch", "last_touch"])
def test_self_touch_keeps_an_active_binding(at: datetime, policy: AttributionPolicy) -> None:
    current = bound("s9", "k9", policy)
    decision = touch(current, "s1", "k1", at, policy, consumer_koc="k1")
    assert (decision.binding, decision.changed, decision.reason) == (current, False, "self_referral")


def test_self_touch_on_expired_binding_binds_store_only() -> None:
    current = bound("s9", "k9")
    decision = touch(current, "s1", "k1", T0 + 30 * DAY, consumer_koc="k1")
    assert decision.changed
    assert decision.reason == "self_referral"
    assert decision.binding is not None
    assert (decision.binding.store, decision.binding.koc) == ("s1", None)


def test_koc_consumer_can_still_be_bound_to_another_koc() -> None:
    decision = touch(None, "s1", "k2", T0, consumer_koc="k1", koc_bound_koc=None)
    assert decision.reason == "new"
    assert decision.binding is not None
    assert decision.binding.koc == "k2"


def test_loop_is_refused() -> None:
    # Consumer is KOC k1; k2's own account is bound to k1. Binding the consumer to k2 would close k1→k2→k1.
    decision = touch(None, "s1", "k2", T0, consumer_koc="k1", koc_bound_koc="k1")
    assert decision.reason == "loop"
    assert decision.binding is not None
    assert (decision.binding.store, decision.binding.koc) == ("s1", None)
    current = bound("s9", "k9")
    kept = touch(current, "s1", "k2", T0 + 20 * DAY, consumer_koc="k1", koc_bound_koc="k1")
    assert (kept.binding, kept.changed, kept.reason) == (current, False, "loop")


def test_no_loop_when_the_touching_koc_is_bound_elsewhere() -> None:
    decision = touch(None, "s1", "k2", T0, consumer_koc="k1", koc_bound_koc="k3")
    assert decision.reason == "new"
    assert decision.binding is not None
    assert decision.binding.koc == "k2"


def test_no_loop_when_consumer_is_not_a_koc() -> None:
    decision = touch(None, "s1", "k2", T0, consumer_koc=None, koc_bound_koc="k3")
    assert decision.reason == "new"


# ----------------------------------------------------------------------------------------- renewal


def test_paid_order_renews_validity_only() -> None:
    current = bound()
    now = T0 + 20 * DAY
    renewed = renew_on_paid(current, FIRST, now)
    assert renewed == Binding(
        store="s1", koc="k1", bound_at=T0, protected_until=T0 + 15 * DAY, expires_at=now + 30 * DAY
    )


def test_renewal_never_shortens() -> None:
    current = bound()
    policy = AttributionPolicy(protection_days=5, binding_days=10)
    assert renew_on_paid(current, policy, T0 + DAY) == current


def test_renewal_under_permanent_policy_makes_binding_permanent() -> None:
    renewed = renew_on_paid(bound(), AttributionPolicy(binding_days=None), T0 + DAY)
    assert renewed.expires_at is None


def test_permanent_binding_stays_permanent_on_renewal() -> None:
    current = bound(policy=AttributionPolicy(binding_days=None))
    assert renew_on_paid(current, FIRST, T0 + DAY) == current


def test_renewal_does_not_revive_an_expired_binding() -> None:
    current = bound()
    assert current.expires_at is not None
    assert renew_on_paid(current, FIRST, current.expires_at) == current
    one_second_earlier = renew_on_paid(current, FIRST, current.expires_at - SECOND)
    assert one_second_earlier.expires_at == current.expires_at - SECOND + 30 * DAY


# ------------------------------------------------------------------------------------- attribution


def credit(
    *,
    order_store: str | None = None,
    order_koc: str | None = None,
    binding: Binding | None = None,
    consumer_koc: str | None = None,
    policy: AttributionPolicy = FIRST,
    now: datetime = T0 + DAY,
) -> Attribution:
    return attribute(
        order_store=order_store,
        order_koc=order_koc,
        binding=binding,
        consumer_koc=consumer_koc,
        policy=policy,
        now=now,
    )


def test_link_store_and_koc_beat_the_binding() -> None:
    result = credit(order_store="s2", order_koc="k2", binding=bound("s1", "k1"))
    assert result == Attribution(store="s2", koc="k2", source="link")


def test_storefront_of_another_store_gets_no_bound_koc() -> None:
    result = credit(order_store="s2", binding=bound("s1", "k1"))
    assert result == Attribution(store="s2", koc=None, source="storefront")


def test_storefront_of_the_bound_store_keeps_the_bound_koc() -> None:
    result = credit(order_store="s1", binding=bound("s1", "k1"))
    assert result == Attribution(store="s1", koc="k1", source="storefront")


def test_generic_entry_credits_the_active_binding() -> None:
    assert credit(binding=bound("s1", "k1")) == Attribution(store="s1", koc="k1", source="binding")


def test_expired_binding_credits_nobody() -> None:
    current = bound("s1", "k1")
    assert current.expires_at is not None
    assert credit(binding=current, now=current.expires_at - SECOND).source == "binding"
    assert credit(binding=current, now=current.expires_at) == Attribution(store=None, koc=None, source="none")
    assert credit(order_store="s1", binding=current, now=current.expires_at).koc is None


def test_no_link_no_binding_credits_nobody() -> None:
    assert credit() == Attribution(store=None, koc=None, source="none")


def test_koc_without_store_is_rejected() -> None:
    with pytest.raises(ValueError, match="order_koc"):
        credit(order_koc="k1")


@pytest.mark.parametrize(("self_referral", "koc"), [(False, None), (True, "k1")])
def test_koc_buying_through_own_link(self_referral: bool, koc: str | None) -> None:
    policy = AttributionPolicy(self_referral=self_referral)
    result = credit(order_store="s1", order_koc="k1", binding=bound("s1", "k9"), consumer_koc="k1", policy=policy)
    # The store is credited either way; the bound KOC does not step into the own-link slot.
    assert result == Attribution(store="s1", koc=koc, source="link")


@pytest.mark.parametrize(("self_referral", "koc"), [(False, None), (True, "k1")])
def test_self_referral_via_binding(self_referral: bool, koc: str | None) -> None:
    # A binding stored before the consumer became KOC k1 (apply_touch itself never makes one).
    current = Binding(store="s1", koc="k1", bound_at=T0, protected_until=T0, expires_at=None)
    policy = AttributionPolicy(self_referral=self_referral)
    assert credit(binding=current, consumer_koc="k1", policy=policy) == Attribution(
        store="s1", koc=koc, source="binding"
    )


# -------------------------------------------------------------------------------------- commission

RATES = CommissionRates(store_bp=1000, distributor_bp=300, koc_bp=500)
WHO = Beneficiaries(store="s1", distributor="d1", koc="k1")


def shares(*, store: int = 0, distributor: int = 0, koc: int = 0) -> tuple[CommissionShare, ...]:
    entries: tuple[tuple[BeneficiaryKind, str, int], ...] = (
        ("store", "s1", store),
        ("distributor", "d1", distributor),
        ("koc", "k1", koc),
    )
    return tuple(
        CommissionShare(beneficiary_kind=kind, beneficiary=beneficiary, amount=amount)
        for kind, beneficiary, amount in entries
        if amount
    )


def line(paid: int, product: str = "p1", category: str = "c1") -> PaidLine:
    return PaidLine(product=product, category=category, paid=paid)


def test_rates_total_of_3000_is_allowed() -> None:
    rates = CommissionRates(store_bp=2000, distributor_bp=500, koc_bp=500)
    validate_rates(rates)


def test_rates_total_of_3001_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"3001 bp exceeds the 3000 bp \(30%\) ceiling"):
        CommissionRates(store_bp=2000, distributor_bp=500, koc_bp=501)


def test_negative_rate_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="distributor_bp must be >= 0, got -1"):
        CommissionRates(store_bp=100, distributor_bp=-1, koc_bp=100)


def test_rates_decoded_from_settings_are_validated() -> None:
    with pytest.raises(msgspec.ValidationError, match="ceiling"):
        msgspec.convert({"store_bp": 3000, "distributor_bp": 0, "koc_bp": 1}, CommissionRates)


def test_negative_paid_line_is_rejected() -> None:
    with pytest.raises(ValueError, match="paid must be >= 0"):
        line(-1)


def test_commission_per_beneficiary() -> None:
    policy = CommissionPolicy(default=RATES)
    assert compute_commission([line(10_000), line(5_000)], WHO, policy) == shares(store=1500, distributor=450, koc=750)


def test_commission_rounds_down_to_the_fen() -> None:
    policy = CommissionPolicy(default=CommissionRates(store_bp=1000, distributor_bp=0, koc_bp=0))
    assert compute_commission([line(333)], WHO, policy) == shares(store=33)
    assert compute_commission([line(339)], WHO, policy) == shares(store=33)


def test_commission_floors_the_exact_total_not_each_line() -> None:
    policy = CommissionPolicy(default=CommissionRates(store_bp=1000, distributor_bp=0, koc_bp=0))
    # 5 fen at 10% is 0.5 fen per line: per-line floors would give 0, the exact total is 1.0 fen.
    assert compute_commission([line(5), line(5, "p2")], WHO, policy) == shares(store=1)


def test_zero_amounts_and_missing_beneficiaries_are_omitted() -> None:
    policy = CommissionPolicy(default=CommissionRates(store_bp=1000, distributor_bp=0, koc_bp=500))
    who = Beneficiaries(store="s1", distributor="d1", koc=None)
    assert compute_commission([line(10_000)], who, policy) == shares(store=1000)
    assert compute_commission([line(9)], WHO, policy) == ()
    assert compute_commission([], WHO, policy) == ()


def test_product_override_beats_category_override_beats_default() -> None:
    by_category = {"shoes": CommissionRates(store_bp=2000, distributor_bp=0, koc_bp=0)}
    by_product = {"p-star": CommissionRates(store_bp=500, distributor_bp=0, koc_bp=0)}
    default = CommissionRates(store_bp=1000, distributor_bp=0, koc_bp=0)
    policy = CommissionPolicy(default=default, by_category=by_category, by_product=by_product)
    star = line(10_000, "p-star", "shoes")
    shoe = line(10_000, "p-shoe", "shoes")
    other = line(10_000, "p-hat", "hats")
    assert rates_for(star, policy) is by_product["p-star"]
    assert rates_for(shoe, policy) is by_category["shoes"]
    assert rates_for(other, policy) is default
    assert compute_commission([star], WHO, policy) == shares(store=500)
    assert compute_commission([shoe], WHO, policy) == shares(store=2000)
    assert compute_commission([other], WHO, policy) == shares(store=1000)
    assert compute_commission([star, shoe, other], WHO, policy) == shares(store=3500)


def test_commission_policy_from_settings() -> None:
    policy = msgspec.convert(
        {
            "default": {"store_bp": 1000, "distributor_bp": 200, "koc_bp": 300},
            "by_category": {"c1": {"store_bp": 0, "distributor_bp": 0, "koc_bp": 3000}},
        },
        CommissionPolicy,
    )
    assert policy.frozen_days == 7
    assert compute_commission([line(1_000)], WHO, policy) == shares(koc=300)
    with pytest.raises(ValueError, match="frozen_days"):
        CommissionPolicy(default=RATES, frozen_days=-1)


def test_commission_release_at_closes_the_after_sales_window() -> None:
    assert commission_release_at(T0, CommissionPolicy(default=RATES)) == T0 + 7 * DAY
    assert commission_release_at(T0, CommissionPolicy(default=RATES, frozen_days=0)) == T0


# --------------------------------------------------------------------------------------- reconcile


def test_reconcile_initial_booking_is_the_target() -> None:
    target = shares(store=1500, distributor=450, koc=750)
    assert reconcile(target, ()) == target


def test_reconcile_partial_refund_reverses_pro_rata() -> None:
    policy = CommissionPolicy(default=RATES)
    booked = compute_commission([line(10_000), line(5_000, "p2")], WHO, policy)
    # Half of line 1 refunded: net paid goods 5000 + 5000.
    target = compute_commission([line(5_000), line(5_000, "p2")], WHO, policy)
    reversal = reconcile(target, booked)
    assert reversal == shares(store=-500, distributor=-150, koc=-250)
    ledger = booked + reversal
    assert reconcile(target, ledger) == ()


def test_reconcile_partial_refund_with_rounding() -> None:
    policy = CommissionPolicy(default=CommissionRates(store_bp=1000, distributor_bp=0, koc_bp=333))
    booked = compute_commission([line(1_001)], WHO, policy)
    assert booked == shares(store=100, koc=33)
    reversal = reconcile(compute_commission([line(700)], WHO, policy), booked)
    assert reversal == shares(store=-30, koc=-10)


def test_reconcile_full_refund_brings_everyone_to_zero() -> None:
    policy = CommissionPolicy(default=RATES)
    booked = compute_commission([line(10_000), line(5_000, "p2")], WHO, policy)
    partial = reconcile(compute_commission([line(3_333), line(5_000, "p2")], WHO, policy), booked)
    ledger = booked + partial
    full = reconcile(compute_commission([line(0), line(0, "p2")], WHO, policy), ledger)
    assert full == shares(store=-833, distributor=-249, koc=-416)
    totals: dict[tuple[str, str], int] = {}
    for entry in ledger + full:
        key = (entry.beneficiary_kind, entry.beneficiary)
        totals[key] = totals.get(key, 0) + entry.amount
    assert totals == {("store", "s1"): 0, ("distributor", "d1"): 0, ("koc", "k1"): 0}


def test_reconcile_sums_duplicates_and_never_emits_zero() -> None:
    booked = shares(store=100) + shares(store=-40) + shares(koc=10)
    assert reconcile(shares(store=60, koc=10), booked) == ()
    assert reconcile((), booked) == shares(store=-60, koc=-10)


def test_reconcile_handles_a_changed_beneficiary() -> None:
    booked = (CommissionShare(beneficiary_kind="koc", beneficiary="k-old", amount=50),)
    target = (CommissionShare(beneficiary_kind="koc", beneficiary="k-new", amount=50),)
    assert reconcile(target, booked) == (
        CommissionShare(beneficiary_kind="koc", beneficiary="k-new", amount=50),
        CommissionShare(beneficiary_kind="koc", beneficiary="k-old", amount=-50),
    )


# ------------------------------------------------------------------------------------ refund split


def test_refund_split_is_pro_rata_and_exact() -> None:
    assert refund_goods_split([6_000, 3_000, 1_000], 1_000) == (600, 300, 100)
    assert refund_goods_split([1, 1, 1], 2) == (1, 1, 0)
    assert refund_goods_split([100, 200], 300) == (100, 200)
    assert refund_goods_split([0, 0], 0) == (0, 0)
    assert refund_goods_split([], 0) == ()


@pytest.mark.parametrize(("lines_paid", "refund"), [([100], 101), ([100], -1), ([-1, 5], 0)])
def test_refund_split_rejects_impossible_refunds(lines_paid: list[int], refund: int) -> None:
    with pytest.raises(ValueError, match=r">= 0|between"):
        refund_goods_split(lines_paid, refund)
