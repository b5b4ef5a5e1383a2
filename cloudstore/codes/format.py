"""The code format: unguessable, self-checking, and naming its tenant (pure: no database, no clock).

A code is ``<tenant>-<random><check>``: the tenant id in Crockford base32, a hyphen, 16 symbols of Crockford
base32 drawn from :mod:`secrets` (80 bits), and Crockford's mod-37 check symbol computed over every symbol
before it (the tenant's and the random ones, read as one base-32 number). 37 is prime and larger than 32, so
changing any one symbol or swapping two adjacent different ones always changes the remainder: a mistyped code
is rejected before any database lookup. The tenant prefix lets ``/c/{code}`` find its tenant without a
cross-tenant table (as payment ids do).
"""

from __future__ import annotations

import base64
import secrets

__all__ = (
    "ALPHABET",
    "CHECK_SYMBOLS",
    "RANDOM_SYMBOLS",
    "check_symbol",
    "compose",
    "new_code",
    "new_codes",
    "parse",
    "tenant_of",
)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"
RANDOM_SYMBOLS = 16  # 80 bits
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Crockford's reading aids: lower case, and the letters people confuse with digits.
_READ = str.maketrans({"I": "1", "L": "1", "O": "0"})
_MAX_TENANT_SYMBOLS = 13  # a bigint


def _b32(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 32)
        out = ALPHABET[r] + out
        if n == 0:
            return out


def check_symbol(symbols: str) -> str:
    """The mod-37 check symbol of ``symbols`` (Crockford base32 digits, most significant first)."""
    remainder = 0
    for ch in symbols:
        remainder = (remainder * 32 + _VALUE[ch]) % 37
    return CHECK_SYMBOLS[remainder]


def compose(tenant_id: int, body: str) -> str:
    """The code of ``tenant_id`` with random part ``body`` (``RANDOM_SYMBOLS`` symbols), check symbol appended."""
    prefix = _b32(tenant_id)
    return f"{prefix}-{body}{check_symbol(prefix + body)}"


def new_code(tenant_id: int) -> str:
    """A fresh code of ``tenant_id``: never derived from a counter, so neighbours say nothing about each other."""
    return new_codes(tenant_id, 1)[0]


_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET.encode())


def new_codes(tenant_id: int, count: int) -> list[str]:
    """``count`` fresh codes of ``tenant_id``, as :func:`new_code` makes them (a million in a few seconds).

    Each random part is 10 bytes from :mod:`secrets` (80 bits: exactly 16 base-32 symbols, so one encoding of
    all the bytes splits into the codes' random parts); the check symbol is ``(tenant * 32**16 + random) % 37``,
    which is what :func:`check_symbol` computes symbol by symbol.
    """
    prefix = _b32(tenant_id)
    high = tenant_id * 32**RANDOM_SYMBOLS
    raw = secrets.token_bytes(10 * count)
    symbols = base64.b32encode(raw).translate(_FROM_RFC4648).decode()
    out = []
    for i in range(count):
        value = high + int.from_bytes(raw[10 * i : 10 * i + 10])
        out.append(f"{prefix}-{symbols[16 * i : 16 * i + 16]}{CHECK_SYMBOLS[value % 37]}")
    return out


def parse(text: str) -> tuple[int, str] | None:
    """``(tenant id, canonical code)`` of a well-formed code whose check symbol holds; None otherwise."""
    if len(text) > _MAX_TENANT_SYMBOLS + RANDOM_SYMBOLS + 2:
        return None
    canonical = text.strip().upper()
    prefix, sep, rest = canonical.partition("-")
    if not sep or not prefix or len(prefix) > _MAX_TENANT_SYMBOLS or len(rest) != RANDOM_SYMBOLS + 1:
        return None
    prefix, body, check = prefix.translate(_READ), rest[:-1].translate(_READ), rest[-1]
    if check not in CHECK_SYMBOLS or any(ch not in _VALUE for ch in prefix + body):
        return None
    if check_symbol(prefix + body) != check:
        return None
    tenant_id = 0
    for ch in prefix:
        tenant_id = tenant_id * 32 + _VALUE[ch]
    if tenant_id == 0 or tenant_id >= 2**63:
        return None
    return tenant_id, f"{_b32(tenant_id)}-{body}{check}"


def tenant_of(text: str) -> int | None:
    """The tenant a well-formed code names, or None."""
    parsed = parse(text)
    return parsed[0] if parsed else None
