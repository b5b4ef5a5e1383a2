"""The code format: every generated code passes its check; one changed symbol or an adjacent swap fails it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cloudstore.codes.format import ALPHABET, RANDOM_SYMBOLS, compose, new_code, parse, tenant_of

tenants = st.integers(min_value=1, max_value=2**63 - 1)
bodies = st.text(alphabet=ALPHABET, min_size=RANDOM_SYMBOLS, max_size=RANDOM_SYMBOLS)


@given(tenants)
def test_every_generated_code_passes_and_names_its_tenant(tenant_id: int) -> None:
    code = new_code(tenant_id)
    assert parse(code) == (tenant_id, code)
    assert parse(code.lower()) == (tenant_id, code)
    assert tenant_of(code) == tenant_id
    _prefix, rest = code.split("-")
    assert len(rest) == RANDOM_SYMBOLS + 1


@given(tenants, bodies)
def test_every_composed_code_passes(tenant_id: int, body: str) -> None:
    code = compose(tenant_id, body)
    assert parse(code) == (tenant_id, code)


@given(tenants, bodies, st.data())
def test_any_single_symbol_change_fails(tenant_id: int, body: str, data: st.DataObject) -> None:
    code = compose(tenant_id, body)
    at = data.draw(st.sampled_from([i for i, ch in enumerate(code) if ch != "-"]))
    other = data.draw(st.sampled_from([ch for ch in ALPHABET + "*~$=U-" if ch != code[at]]))
    changed = code[:at] + other + code[at + 1 :]
    assert parse(changed) is None


@given(tenants, bodies, st.data())
def test_any_adjacent_swap_fails(tenant_id: int, body: str, data: st.DataObject) -> None:
    code = compose(tenant_id, body)
    swappable = [i for i in range(len(code) - 1) if code[i] != code[i + 1]]
    if not swappable:
        return
    at = data.draw(st.sampled_from(swappable))
    swapped = code[:at] + code[at + 1] + code[at] + code[at + 2 :]
    assert parse(swapped) is None


def test_codes_are_not_sequential_and_malformed_text_is_refused() -> None:
    codes = {new_code(7) for _ in range(2000)}
    assert len(codes) == 2000
    for text in ("", "-", "7-", "7" * 40, "0-" + "0" * 17, "7-" + "!" * 17, "7_" + "0" * 17):
        assert parse(text) is None
