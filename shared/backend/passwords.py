"""Password hashing with argon2id, off the event loop (each hash is deliberately slow)."""

from __future__ import annotations

import asyncio
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from .settings import PasswordCost


class Passwords:
    def __init__(self, cost: PasswordCost) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=cost.time_cost,
            memory_cost=cost.memory_kib,
            parallelism=cost.parallelism,
            type=argon2.Type.ID,
        )
        self._decoy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with no stored hash (unknown user) a decoy is checked
        instead, so the answer takes as long and an attacker cannot tell who exists."""
        if stored_hash is None:
            if self._decoy_hash is None:
                self._decoy_hash = await self.hash(secrets.token_urlsafe(16))
            await asyncio.to_thread(self._matches, self._decoy_hash, password)
            return False
        return await asyncio.to_thread(self._matches, stored_hash, password)

    def _matches(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
