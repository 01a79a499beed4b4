"""API keys: long-lived machine credentials, scoped, stored only as a hash of their secret.

A key reads `spk_<id>_<secret>`: the id finds the stored key (and is the prefix shown in
listings), the secret proves possession. The secret is 256 random bits, so a plain SHA-256 of it
is as good as a slow password hash and costs nothing per request.
"""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

KEY_PREFIX = "spk_"


class Scope(StrEnum):
    EXECUTIONS_READ = "executions:read"
    EXECUTIONS_WRITE = "executions:write"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_key_id() -> str:
    return secrets.token_hex(6)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class MalformedKeyError(ValueError):
    def __init__(self) -> None:
        super().__init__("not a valid API key")


def split_key(key: str) -> tuple[str, str]:
    """(id, secret) of a presented key, or MalformedKeyError."""
    body = key.removeprefix(KEY_PREFIX)
    key_id, _, secret = body.partition("_")
    if body == key or not key_id or not secret:
        raise MalformedKeyError()
    return key_id, secret


class ApiKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_key_id)
    owner: str
    name: str
    scopes: frozenset[Scope]
    secret_hash: str
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def prefix(self) -> str:
        return f"{KEY_PREFIX}{self.id}"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))

    @classmethod
    def issue(cls, owner: str, name: str, scopes: frozenset[Scope]) -> tuple["ApiKey", str]:
        """A new key and its full text (shown once; only its hash is kept)."""
        secret = secrets.token_urlsafe(32)
        key = cls(owner=owner, name=name, scopes=scopes, secret_hash=hash_secret(secret))
        return key, f"{key.prefix}_{secret}"
