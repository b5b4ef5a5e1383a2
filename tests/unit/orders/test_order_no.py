"""Order numbers: the day and 10 digits drawn one to one from the order's id."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from cloudstore.orders import placing
from cloudstore.orders.placing import order_no_for

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
IDS = st.integers(min_value=1, max_value=10**10 - 1)


def test_the_factor_is_prime_to_ten_so_the_digits_are_a_permutation() -> None:
    assert math.gcd(placing._ORDER_NO_FACTOR, placing._ORDER_NO_DIGITS) == 1


def test_the_number_is_the_day_and_ten_digits() -> None:
    number = order_no_for(42, NOW)
    assert number.startswith("20261207")
    assert len(number) == 18
    assert number.isdigit()
    # consecutive orders do not read as a count
    assert int(order_no_for(43, NOW)) - int(number) != 1


def test_a_hundred_thousand_orders_of_one_day_have_a_hundred_thousand_numbers() -> None:
    # With 10 random digits, two of 100,000 numbers coincide with a probability of about 40 %.
    start = 7_000_000
    assert len({order_no_for(i, NOW) for i in range(start, start + 100_000)}) == 100_000


@given(IDS, IDS)
def test_two_ids_never_share_a_number(a: int, b: int) -> None:
    assert (order_no_for(a, NOW) == order_no_for(b, NOW)) == (a == b)
