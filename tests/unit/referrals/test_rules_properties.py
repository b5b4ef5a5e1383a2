"""Hypothesis properties of the pure referral rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cloudstore.referrals.rules import (
    BP_DENOMINATOR,
    MAX_TOTAL_BP,
    AttributionModel,
    AttributionPolicy,
    Beneficiaries,
    BeneficiaryKind,
    Binding,
    CommissionPolicy,
    CommissionRates,
    CommissionShare,
    PaidLine,
    Touch,
    apply_touch,
    attribute,
    binding_is_active,
    binding_is_protected,
    compute_commission,
    rates_for,
    reconcile,
    refund_goods_split,
)

PROPERTY = settings(deadline=None, max_examples=150)

BASE = datetime(2025, 1, 1, tzinfo=UTC)
DAY_SECONDS = 86_400
PRODUCTS = ("p1", "p2", "p3", "p4")
CATEGORIES = ("c1", "c2", "c3")
STORES = ("s1", "s2", "s3")
KOCS = ("k1", "k2", "k3", "k4")
KINDS: tuple[BeneficiaryKind, ...] = ("store", "distributor", "koc")

Key = tuple[BeneficiaryKind, str]


def totals(entries: Iterable[CommissionShare]) -> dict[Key, int]:
    """Net amount per (kind, beneficiary), dropping keys that net to zero."""
    sums: dict[Key, int] = {}
    for entry in entries:
        key = (entry.beneficiary_kind, entry.beneficiary)
        sums[key] = sums.get(key, 0) + entry.amount
    return {key: amount for key, amount in sums.items() if amount}


# ------------------------------------------------------------------------------------- strategies


@st.composite
def commission_rates(draw: st.DrawFn) -> CommissionRates:
    store = draw(st.integers(0, MAX_TOTAL_BP))
    distributor = draw(st.integers(0, MAX_TOTAL_BP - store))
    koc = draw(st.integers(0, MAX_TOTAL_BP - store - distributor))
    order = draw(st.permutations([store, distributor, koc]))
    return CommissionRates(store_bp=order[0], distributor_bp=order[1], koc_bp=order[2])


commission_policies = st.builds(
    CommissionPolicy,
    default=commission_rates(),
    by_category=st.dictionaries(st.sampled_from(CATEGORIES), commission_rates(), max_size=3),
    by_product=st.dictionaries(st.sampled_from(PRODUCTS), commission_rates(), max_size=4),
)

paid_lines = st.lists(
    st.builds(
        PaidLine,
        product=st.sampled_from(PRODUCTS),
        category=st.sampled_from(CATEGORIES),
        paid=st.integers(0, 10_000_000),
    ),
    max_size=6,
)

beneficiaries = st.builds(
    Beneficiaries,
    store=st.none() | st.just("s1"),
    distributor=st.none() | st.just("d1"),
    koc=st.none() | st.just("k1"),
)

ledger_entries = st.lists(
    st.builds(
        CommissionShare,
        beneficiary_kind=st.sampled_from(KINDS),
        beneficiary=st.sampled_from(("a", "b", "c")),
        amount=st.integers(-10_000, 10_000),
    ),
    max_size=8,
)


@st.composite
def attribution_policies(draw: st.DrawFn) -> AttributionPolicy:
    binding_days = draw(st.none() | st.integers(1, 60))
    protection_days = draw(st.integers(0, 60 if binding_days is None else binding_days))
    return AttributionPolicy(
        model=draw(st.sampled_from(AttributionModel)),
        protection_days=protection_days,
        binding_days=binding_days,
        self_referral=draw(st.booleans()),
    )


@st.composite
def bindings(draw: st.DrawFn) -> Binding:
    bound_at = BASE + timedelta(seconds=draw(st.integers(0, 10 * DAY_SECONDS)))
    protection = timedelta(seconds=draw(st.integers(0, 30 * DAY_SECONDS)))
    validity = draw(st.none() | st.integers(0, 60 * DAY_SECONDS))
    return Binding(
        store=draw(st.sampled_from(STORES)),
        koc=draw(st.none() | st.sampled_from(KOCS)),
        bound_at=bound_at,
        protected_until=bound_at + protection,
        expires_at=None if validity is None else bound_at + protection + timedelta(seconds=validity),
    )


@st.composite
def touch_times(draw: st.DrawFn, current: Binding | None) -> datetime:
    """A touch time, often exactly at or one second around the binding's edges."""
    anchors = [BASE, BASE + timedelta(days=40)]
    if current is not None:
        anchors += [current.bound_at, current.protected_until]
        if current.expires_at is not None:
            anchors.append(current.expires_at)
    anchor = draw(st.sampled_from(anchors))
    delta = draw(st.sampled_from((-1, 0, 1)) | st.integers(-20 * DAY_SECONDS, 20 * DAY_SECONDS))
    return anchor + timedelta(seconds=delta)


@st.composite
def touch_cases(draw: st.DrawFn) -> tuple[Binding | None, Touch, AttributionPolicy, str | None, str | None]:
    current = draw(st.none() | bindings())
    consumer_koc = draw(st.none() | st.sampled_from(KOCS))
    if current is not None and current.koc is not None and current.koc == consumer_koc:
        # Stored bindings come from apply_touch, which never binds a consumer to their own code.
        consumer_koc = None
    touch = Touch(
        store=draw(st.sampled_from(STORES)),
        koc=draw(st.none() | st.sampled_from(KOCS)),
        at=draw(touch_times(current)),
    )
    koc_bound_koc = draw(st.none() | st.sampled_from(KOCS))
    return current, touch, draw(attribution_policies()), consumer_koc, koc_bound_koc


# ------------------------------------------------------------------------------------- commission


@PROPERTY
@given(lines=paid_lines, who=beneficiaries, policy=commission_policies)
def test_commission_is_the_floor_of_the_exact_amount_and_within_30_percent(
    lines: list[PaidLine], who: Beneficiaries, policy: CommissionPolicy
) -> None:
    result = compute_commission(lines, who, policy)
    paid = sum(line.paid for line in lines)
    assert sum(share.amount for share in result) * BP_DENOMINATOR <= paid * MAX_TOTAL_BP
    ids = {"store": who.store, "distributor": who.distributor, "koc": who.koc}
    for share in result:
        assert share.amount > 0
        assert share.beneficiary == ids[share.beneficiary_kind]
        exact = sum(
            line.paid * getattr(rates_for(line, policy), f"{share.beneficiary_kind}_bp")  # exact amount x 10000
            for line in lines
        )
        assert share.amount * BP_DENOMINATOR <= exact < (share.amount + 1) * BP_DENOMINATOR
    assert len({share.beneficiary_kind for share in result}) == len(result)


@PROPERTY
@given(lines=paid_lines, who=beneficiaries, policy=commission_policies, data=st.data())
def test_commission_is_monotone_in_what_was_paid(
    lines: list[PaidLine], who: Beneficiaries, policy: CommissionPolicy, data: st.DataObject
) -> None:
    less = [
        PaidLine(product=line.product, category=line.category, paid=data.draw(st.integers(0, line.paid)))
        for line in lines
        if data.draw(st.booleans())
    ]
    before = totals(compute_commission(lines, who, policy))
    after = totals(compute_commission(less, who, policy))
    for key, amount in after.items():
        assert amount <= before.get(key, 0)


@PROPERTY
@given(target=ledger_entries, booked=ledger_entries)
def test_reconcile_brings_booked_exactly_to_target(
    target: list[CommissionShare], booked: list[CommissionShare]
) -> None:
    entries = reconcile(target, booked)
    assert all(entry.amount != 0 for entry in entries)
    assert len({(entry.beneficiary_kind, entry.beneficiary) for entry in entries}) == len(entries)
    assert totals([*booked, *entries]) == totals(target)
    assert reconcile(target, [*booked, *entries]) == ()


@PROPERTY
@given(lines=paid_lines, who=beneficiaries, policy=commission_policies, data=st.data())
def test_partial_refunds_then_full_refund_net_to_zero(
    lines: list[PaidLine], who: Beneficiaries, policy: CommissionPolicy, data: st.DataObject
) -> None:
    ledger = list(reconcile(compute_commission(lines, who, policy), ()))
    net = [line.paid for line in lines]
    for _ in range(data.draw(st.integers(0, 4))):
        if data.draw(st.booleans()) and lines:
            # A refund of some goods on one line.
            i = data.draw(st.integers(0, len(lines) - 1))
            net[i] -= data.draw(st.integers(0, net[i]))
        else:
            # An order-level refund spread pro rata over the lines.
            parts = refund_goods_split(net, data.draw(st.integers(0, sum(net))))
            net = [paid - part for paid, part in zip(net, parts, strict=True)]
        current = [
            PaidLine(product=line.product, category=line.category, paid=paid)
            for line, paid in zip(lines, net, strict=True)
        ]
        reversal = reconcile(compute_commission(current, who, policy), ledger)
        assert all(entry.amount < 0 for entry in reversal)
        ledger.extend(reversal)
        assert totals(ledger) == totals(compute_commission(current, who, policy))
        assert all(amount >= 0 for amount in totals(ledger).values())
    refunded = [PaidLine(product=line.product, category=line.category, paid=0) for line in lines]
    ledger.extend(reconcile(compute_commission(refunded, who, policy), ledger))
    assert totals(ledger) == {}


@PROPERTY
@given(lines_paid=st.lists(st.integers(0, 1_000_000), max_size=8), data=st.data())
def test_refund_split_is_exact_and_bounded(lines_paid: list[int], data: st.DataObject) -> None:
    refund = data.draw(st.integers(0, sum(lines_paid)))
    parts = refund_goods_split(lines_paid, refund)
    assert sum(parts) == refund
    assert all(0 <= part <= paid for part, paid in zip(parts, lines_paid, strict=True))
    total = sum(lines_paid)
    if total:
        # Each part is within one fen of its exact pro-rata share.
        assert all(abs(part * total - paid * refund) < total for part, paid in zip(parts, lines_paid, strict=True))


# ---------------------------------------------------------------------------------------- binding


@PROPERTY
@given(case=touch_cases())
def test_apply_touch_never_binds_own_koc_or_a_loop_and_is_deterministic(
    case: tuple[Binding | None, Touch, AttributionPolicy, str | None, str | None],
) -> None:
    current, touch, policy, consumer_koc, koc_bound_koc = case
    decision = apply_touch(current, touch, policy, consumer_koc=consumer_koc, koc_bound_koc=koc_bound_koc)
    again = apply_touch(current, touch, policy, consumer_koc=consumer_koc, koc_bound_koc=koc_bound_koc)
    assert decision == again
    assert decision.binding is not None
    assert decision.binding.koc is None or decision.binding.koc != consumer_koc
    loop = touch.koc is not None and consumer_koc is not None and koc_bound_koc == consumer_koc
    if loop and decision.changed:
        assert decision.binding.koc is None
    assert binding_is_active(decision.binding, touch.at)
    if decision.changed:
        assert decision.binding.store == touch.store
        assert decision.binding.bound_at == touch.at
        assert decision.binding.koc in (touch.koc, None)
    else:
        assert decision.binding == current


@PROPERTY
@given(case=touch_cases())
def test_protection_holds_off_every_other_link(
    case: tuple[Binding | None, Touch, AttributionPolicy, str | None, str | None],
) -> None:
    current, touch, policy, consumer_koc, koc_bound_koc = case
    decision = apply_touch(current, touch, policy, consumer_koc=consumer_koc, koc_bound_koc=koc_bound_koc)
    if current is not None and binding_is_active(current, touch.at) and binding_is_protected(current, touch.at):
        assert not decision.changed
        assert decision.binding == current


@PROPERTY
@given(case=touch_cases())
def test_models_differ_only_in_refreshing_the_same_link(
    case: tuple[Binding | None, Touch, AttributionPolicy, str | None, str | None],
) -> None:
    current, touch, policy, consumer_koc, koc_bound_koc = case
    first_policy = AttributionPolicy(
        model=AttributionModel.FIRST_TOUCH,
        protection_days=policy.protection_days,
        binding_days=policy.binding_days,
    )
    last_policy = AttributionPolicy(
        model=AttributionModel.LAST_TOUCH,
        protection_days=policy.protection_days,
        binding_days=policy.binding_days,
    )
    first = apply_touch(current, touch, first_policy, consumer_koc=consumer_koc, koc_bound_koc=koc_bound_koc)
    last = apply_touch(current, touch, last_policy, consumer_koc=consumer_koc, koc_bound_koc=koc_bound_koc)
    if first != last:
        assert (first.reason, last.reason) == ("same", "refreshed")
        assert current is not None
        assert (touch.store, touch.koc) == (current.store, current.koc)


# ------------------------------------------------------------------------------------ attribution


@PROPERTY
@given(
    order_store=st.none() | st.sampled_from(STORES),
    order_koc=st.none() | st.sampled_from(KOCS),
    binding=st.none() | bindings(),
    consumer_koc=st.none() | st.sampled_from(KOCS),
    policy=attribution_policies(),
    now=st.integers(0, 80 * DAY_SECONDS).map(lambda s: BASE + timedelta(seconds=s)),
)
def test_attribution_credits_one_store_and_respects_self_referral(
    order_store: str | None,
    order_koc: str | None,
    binding: Binding | None,
    consumer_koc: str | None,
    policy: AttributionPolicy,
    now: datetime,
) -> None:
    if order_store is None:
        order_koc = None
    result = attribute(
        order_store=order_store,
        order_koc=order_koc,
        binding=binding,
        consumer_koc=consumer_koc,
        policy=policy,
        now=now,
    )
    active = binding if binding_is_active(binding, now) else None
    if order_store is not None:
        assert result.store == order_store
    elif active is not None:
        assert (result.store, result.source) == (active.store, "binding")
    else:
        assert (result.store, result.koc, result.source) == (None, None, "none")
    if result.koc is not None:
        assert result.koc == order_koc or (
            active is not None and (active.store, active.koc) == (result.store, result.koc)
        )
        assert policy.self_referral or result.koc != consumer_koc
