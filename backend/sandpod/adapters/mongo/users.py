"""UserStore on MongoDB (or FerretDB). One document per user: _id = user id, unique username.

Every change (failed sign-in, reset, sign-out) is one single-document update conditional on a
`version` field. On MongoDB that condition alone makes it atomic; FerretDB v1 does not apply it
atomically, so each change first claims its version with a unique insert (claims.py), exactly as
execution status changes do.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bson.codec_options import CodecOptions
from pymongo import ASCENDING
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo.claims import ClaimedChanges, insert_new
from sandpod.adapters.mongo.client import mongo_client, with_indexes
from sandpod.adapters.mongo.documents import Document
from sandpod.adapters.mongo.errors import unavailable_when_down
from sandpod.config import MongoSettings
from sandpod.domain.api_keys import ApiKey
from sandpod.domain.users import LockoutPolicy, Role, User
from sandpod.ports import ServiceUnavailableError, UsernameTakenError

USERS_COLLECTION = "users"
CLAIMS_COLLECTION = "user_changes"
API_KEYS_COLLECTION = "api_keys"
WEBHOOK_SECRETS_COLLECTION = "webhook_secrets"  # _id = owner id (any principal, even "local")
# The fields a change may touch; the rest of a user is written once, at registration.
_MUTABLE = ("failed_logins", "first_failure_at", "locked_until", "session_version")


def _to_document(user: User) -> Document:
    document: Document = user.model_dump(mode="python", exclude={"id"})
    document["role"] = user.role.value
    document["_id"] = user.id
    document["version"] = 0
    return document


def _from_document(document: Document) -> User:
    fields: dict[str, Any] = {
        key: value for key, value in document.items() if key not in ("_id", "version")
    }
    return User.model_validate({**fields, "id": document["_id"], "role": Role(fields["role"])})


def _key_to_document(key: ApiKey) -> Document:
    document: Document = key.model_dump(mode="python", exclude={"id", "scopes"})
    document["scopes"] = sorted(scope.value for scope in key.scopes)
    document["_id"] = key.id
    return document


def _key_from_document(document: Document) -> ApiKey:
    fields = {key: value for key, value in document.items() if key != "_id"}
    return ApiKey.model_validate({**fields, "id": document["_id"]})


class MongoUserStore:
    def __init__(
        self,
        client: AsyncMongoClient[Document],
        database: str,
        *,
        claim_lease_seconds: float = 30.0,
        max_attempts: int = 20,
    ) -> None:
        self._client = client
        # tz-aware UTC datetimes back, like the ones the domain makes.
        db = client.get_database(database, codec_options=CodecOptions(tz_aware=True, tzinfo=UTC))
        self._db = db
        self._users = db[USERS_COLLECTION]
        self._keys = db[API_KEYS_COLLECTION]
        self._webhook_secrets = db[WEBHOOK_SECRETS_COLLECTION]
        self._changes = ClaimedChanges(
            self._users,
            db[CLAIMS_COLLECTION],
            kind="user",
            lease=timedelta(seconds=claim_lease_seconds),
            max_attempts=max_attempts,
        )

    async def ensure_indexes(self) -> None:
        with unavailable_when_down(self._client):
            await self._users.create_index(
                [("username", ASCENDING)], unique=True, name="username_unique"
            )
            await self._changes.ensure_indexes()
            await self._keys.create_index(
                [("owner", ASCENDING), ("created_at", ASCENDING)], name="keys_of_owner"
            )

    async def add(self, user: User) -> None:
        with unavailable_when_down(self._client):
            if not await insert_new(self._users, _to_document(user)):
                raise UsernameTakenError(user.username)

    async def get(self, user_id: str) -> User | None:
        with unavailable_when_down(self._client):
            document = await self._users.find_one({"_id": user_id})
        return None if document is None else _from_document(document)

    async def get_by_username(self, username: str) -> User | None:
        with unavailable_when_down(self._client):
            document = await self._users.find_one({"username": username})
        return None if document is None else _from_document(document)

    async def record_failure(
        self, user_id: str, *, at: datetime, policy: LockoutPolicy
    ) -> User | None:
        return await self._change(user_id, lambda user: user.after_failure(at, policy))

    async def reset_failures(self, user_id: str) -> None:
        await self._change(user_id, lambda user: user.after_success())

    async def end_sessions(self, user_id: str) -> User | None:
        return await self._change(
            user_id,
            lambda user: user.model_copy(update={"session_version": user.session_version + 1}),
        )

    async def add_api_key(self, key: ApiKey) -> None:
        with unavailable_when_down(self._client):
            if not await insert_new(self._keys, _key_to_document(key)):
                raise ValueError(f"an API key with id {key.id!r} exists")

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        with unavailable_when_down(self._client):
            document = await self._keys.find_one({"_id": key_id})
        return None if document is None else _key_from_document(document)

    async def list_api_keys(self, owner: str) -> Sequence[ApiKey]:
        cursor = self._keys.find({"owner": owner}).sort(
            [("created_at", ASCENDING), ("_id", ASCENDING)]
        )
        with unavailable_when_down(self._client):
            return [_key_from_document(document) async for document in cursor]

    async def revoke_api_key(self, key_id: str, *, at: datetime) -> ApiKey | None:
        # Setting one field that is never unset: the update needs no claim to stay correct.
        with unavailable_when_down(self._client):
            await self._keys.update_one(
                {"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": at}}
            )
        return await self.get_api_key(key_id)

    async def touch_api_key(self, key_id: str, *, at: datetime) -> None:
        with unavailable_when_down(self._client):
            await self._keys.update_one({"_id": key_id}, {"$max": {"last_used_at": at}})

    async def ensure_webhook_secret(self, owner: str, candidate: str) -> str:
        with unavailable_when_down(self._client):
            # A unique insert: of several first calls, exactly one secret is kept.
            await insert_new(self._webhook_secrets, {"_id": owner, "secret": candidate})
            document = await self._webhook_secrets.find_one({"_id": owner})
        if document is None:  # removed between the two steps: only a reset does that
            raise ServiceUnavailableError("the webhook secret vanished while it was read")
        secret: str = document["secret"]
        return secret

    async def set_webhook_secret(self, owner: str, secret: str) -> None:
        with unavailable_when_down(self._client):
            await self._webhook_secrets.update_one(
                {"_id": owner}, {"$set": {"secret": secret}}, upsert=True
            )

    async def ping(self) -> None:
        with unavailable_when_down(self._client):
            await self._db.command("ping")

    async def close(self) -> None:
        await self._client.close()

    async def _change(self, user_id: str, change: Callable[[User], User]) -> User | None:
        """Apply `change` to the stored user exactly once, whatever runs concurrently."""

        def decide(document: Document) -> Document | None:
            current = _from_document(document)
            updated = change(current)
            if updated == current:
                return None  # nothing to write (e.g. a failure during a lock)
            return {name: getattr(updated, name) for name in _MUTABLE}

        with unavailable_when_down(self._client):
            changed = await self._changes.change(user_id, decide)
        return None if changed is None else _from_document(changed.document)


async def connect_users(settings: MongoSettings) -> MongoUserStore:
    """The user store with its indexes in place. Raises ServiceUnavailableError when unreachable."""
    return await with_indexes(
        MongoUserStore(mongo_client(settings.url.get_secret_value()), settings.database)
    )
