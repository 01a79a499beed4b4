"""Create, list and revoke API keys, and resolve a presented key to a Principal."""

import logging
from collections.abc import Sequence
from datetime import timedelta

from sandpod.domain.api_keys import ApiKey, MalformedKeyError, Scope, split_key, utcnow
from sandpod.domain.principals import Principal
from sandpod.ports import UserStore
from sandpod.services.errors import (
    ApiKeyNotFoundError,
    AuthenticationError,
    TooManyApiKeysError,
)

log = logging.getLogger(__name__)

# A key's last use is written at most this often: not one database write per request.
TOUCH_INTERVAL = timedelta(minutes=1)


class InvalidApiKeyError(AuthenticationError):
    def __init__(self) -> None:
        super().__init__("this API key is not valid (unknown, revoked, or its account is gone)")


class ApiKeyService:
    def __init__(self, users: UserStore, *, max_active_per_user: int = 20) -> None:
        self._users = users
        self._max_active = max_active_per_user

    async def create(
        self, principal: Principal, name: str, scopes: frozenset[Scope]
    ) -> tuple[ApiKey, str]:
        """A new key and its full text, which is never shown again."""
        active = [
            key for key in await self._users.list_api_keys(principal.id) if not key.revoked_at
        ]
        if len(active) >= self._max_active:
            raise TooManyApiKeysError(self._max_active)
        key, text = ApiKey.issue(principal.id, name, scopes)
        await self._users.add_api_key(key)
        log.info("API key created", extra={"user_id": principal.id, "key_id": key.id})
        return key, text

    async def list(self, principal: Principal) -> Sequence[ApiKey]:
        return await self._users.list_api_keys(principal.id)

    async def revoke(self, principal: Principal, key_id: str) -> ApiKey:
        """Revoke one of your keys (an admin: anyone's); someone else's is reported as missing."""
        key = await self._users.get_api_key(key_id)
        if key is None or not (principal.is_admin or key.owner == principal.id):
            raise ApiKeyNotFoundError(key_id)
        revoked = await self._users.revoke_api_key(key_id, at=utcnow())
        if revoked is None:
            raise ApiKeyNotFoundError(key_id)
        log.info("API key revoked", extra={"user_id": key.owner, "key_id": key_id})
        return revoked

    async def authenticate(self, text: str) -> Principal:
        try:
            key_id, secret = split_key(text)
        except MalformedKeyError as error:
            raise InvalidApiKeyError() from error
        key = await self._users.get_api_key(key_id)
        if key is None or key.revoked_at is not None or not key.matches(secret):
            raise InvalidApiKeyError()
        user = await self._users.get(key.owner)
        if user is None:
            raise InvalidApiKeyError()
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at >= TOUCH_INTERVAL:
            await self._users.touch_api_key(key.id, at=now)
        return Principal(id=user.id, is_admin=user.is_admin, key_id=key.id, scopes=key.scopes)
