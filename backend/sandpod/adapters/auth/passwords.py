"""Password hashing with argon2id, off the event loop and with bounded memory."""

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    """The PasswordHasher port with argon2-cffi."""

    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int = 4, workers: int = 4
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Each hash takes `memory_kib`; a small pool bounds memory under a burst of sign-ins.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        # Unknown users are verified against this, so they cost as much as real ones.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(24))

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._hasher.hash, password
        )

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._verify, password_hash, password
        )

    async def verify_dummy(self, password: str) -> None:
        await self.verify(self._dummy, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
