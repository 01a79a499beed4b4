"""Accounts kept in a dict; one lock makes every change atomic."""

import asyncio
from collections.abc import Sequence
from datetime import datetime

from sandpod.domain.api_keys import ApiKey
from sandpod.domain.users import LockoutPolicy, User
from sandpod.ports import UsernameTakenError


class InMemoryUserStore:
    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._ids_by_name: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._keys: dict[str, ApiKey] = {}
        self._webhook_secrets: dict[str, str] = {}

    async def add(self, user: User) -> None:
        async with self._lock:
            if user.username in self._ids_by_name:
                raise UsernameTakenError(user.username)
            if user.id in self._users:
                raise ValueError(f"a user with id {user.id!r} exists")
            self._users[user.id] = user
            self._ids_by_name[user.username] = user.id

    async def get(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    async def get_by_username(self, username: str) -> User | None:
        user_id = self._ids_by_name.get(username)
        return None if user_id is None else self._users.get(user_id)

    async def record_failure(
        self, user_id: str, *, at: datetime, policy: LockoutPolicy
    ) -> User | None:
        async with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return None
            updated = self._users[user_id] = user.after_failure(at, policy)
            return updated

    async def reset_failures(self, user_id: str) -> None:
        async with self._lock:
            user = self._users.get(user_id)
            if user is not None:
                self._users[user_id] = user.after_success()

    async def end_sessions(self, user_id: str) -> User | None:
        async with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return None
            updated = user.model_copy(update={"session_version": user.session_version + 1})
            self._users[user_id] = updated
            return updated

    async def add_api_key(self, key: ApiKey) -> None:
        async with self._lock:
            if key.id in self._keys:
                raise ValueError(f"an API key with id {key.id!r} exists")
            self._keys[key.id] = key

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    async def list_api_keys(self, owner: str) -> Sequence[ApiKey]:
        mine = (key for key in self._keys.values() if key.owner == owner)
        return sorted(mine, key=lambda key: (key.created_at, key.id))

    async def revoke_api_key(self, key_id: str, *, at: datetime) -> ApiKey | None:
        async with self._lock:
            key = self._keys.get(key_id)
            if key is None:
                return None
            if key.revoked_at is None:
                key = self._keys[key_id] = key.model_copy(update={"revoked_at": at})
            return key

    async def touch_api_key(self, key_id: str, *, at: datetime) -> None:
        async with self._lock:
            key = self._keys.get(key_id)
            if key is not None:
                self._keys[key_id] = key.model_copy(update={"last_used_at": at})

    async def ping(self) -> None:
        return None

    async def ensure_webhook_secret(self, owner: str, candidate: str) -> str:
        return self._webhook_secrets.setdefault(owner, candidate)

    async def set_webhook_secret(self, owner: str, secret: str) -> None:
        self._webhook_secrets[owner] = secret
