"""Accounts: who may sign in, with which role, and the sign-in lockout rule."""

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from sandpod.domain.errors import InvalidInputError

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$"
_USERNAME = re.compile(USERNAME_PATTERN)


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_user_id() -> str:
    return f"usr_{secrets.token_hex(10)}"


class InvalidUsernameError(InvalidInputError):
    def __init__(self) -> None:
        super().__init__(
            "username must be 3 to 32 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def normalize_username(username: str) -> str:
    """Usernames are compared case-insensitively: 'Alice' and 'alice' are one account."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalized username, or InvalidUsernameError."""
    if not _USERNAME.fullmatch(username):
        raise InvalidUsernameError()
    return normalize_username(username)


@dataclass(frozen=True)
class LockoutPolicy:
    """`max_failures` wrong passwords within `window` lock the account for `lock`."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_user_id)
    username: str
    password_hash: str
    role: Role = Role.USER
    created_at: datetime = Field(default_factory=utcnow)
    failed_logins: int = 0
    first_failure_at: datetime | None = None
    locked_until: datetime | None = None
    # Every access token carries this number; bumping it (logout) revokes all of them at once.
    session_version: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def is_locked(self, at: datetime) -> bool:
        return self.locked_until is not None and at < self.locked_until

    def after_failure(self, at: datetime, policy: LockoutPolicy) -> "User":
        """This user after one more wrong password at `at`."""
        if self.is_locked(at):
            return self  # failures during a lock do not extend it
        start = self.first_failure_at
        if start is None or at - start >= policy.window:
            count, start = 1, at
        else:
            count = self.failed_logins + 1
        if count >= policy.max_failures:
            return self.model_copy(
                update={
                    "failed_logins": 0,
                    "first_failure_at": None,
                    "locked_until": at + policy.lock,
                }
            )
        return self.model_copy(update={"failed_logins": count, "first_failure_at": start})

    def after_success(self) -> "User":
        return self.model_copy(
            update={"failed_logins": 0, "first_failure_at": None, "locked_until": None}
        )
