"""Password hashing with Argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ("PasswordHashing",)


class PasswordHashing:
    """Hash and verify passwords. ``fast`` (tests only) lowers the cost so suites stay quick."""

    def __init__(self, *, fast: bool = False) -> None:
        self._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
        # Verifying against this when the user does not exist keeps response times alike.
        self._dummy = self._hasher.hash("not-a-real-password")

    async def hash(self, password: str) -> str:
        """An encoded Argon2id hash of ``password``."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, encoded: str | None, password: str) -> bool:
        """Whether ``password`` matches ``encoded`` (``None``: no such user, still spends the time)."""

        def _verify() -> bool:
            try:
                return self._hasher.verify(encoded or self._dummy, password) and encoded is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(_verify)
