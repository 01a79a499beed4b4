"""Register, sign in (with lockout), sign out, and resolve a token to a Principal."""

import logging
from dataclasses import dataclass
from enum import StrEnum

from sandpod.domain.passwords import check_password
from sandpod.domain.principals import Principal
from sandpod.domain.tokens import Claims, IssuedToken
from sandpod.domain.users import (
    LockoutPolicy,
    Role,
    User,
    check_username,
    normalize_username,
    utcnow,
)
from sandpod.ports import PasswordHasher, TokenIssuer, UsernameTakenError, UserStore
from sandpod.services.errors import (
    AuthenticationError,
    InvalidCredentialsError,
    RegistrationClosedError,
)

log = logging.getLogger(__name__)


class SessionEndedError(AuthenticationError):
    def __init__(self) -> None:
        super().__init__("this session has ended; sign in again")


class SeedOutcome(StrEnum):
    CREATED = "created"
    EXISTS = "exists"
    NAME_TAKEN_BY_USER = "name_taken_by_user"


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    claims: Claims


class AccountService:
    def __init__(
        self,
        *,
        users: UserStore,
        passwords: PasswordHasher,
        tokens: TokenIssuer,
        lockout: LockoutPolicy,
        registration_open: bool = True,
    ) -> None:
        self._users = users
        self._passwords = passwords
        self.tokens = tokens
        self._lockout = lockout
        self._registration_open = registration_open

    @property
    def registration_open(self) -> bool:
        """Whether anyone may create an account (else only the admin is seeded)."""
        return self._registration_open

    async def register(self, username: str, password: str, *, role: Role = Role.USER) -> User:
        if not self._registration_open and role is Role.USER:
            raise RegistrationClosedError()
        name = check_username(username)
        check_password(password, name)
        user = User(username=name, password_hash=await self._passwords.hash(password), role=role)
        await self._users.add(user)
        log.info("account created", extra={"user_id": user.id, "role": str(role)})
        return user

    async def login(self, username: str, password: str) -> IssuedToken:
        """A token, or InvalidCredentialsError whatever the reason (unknown, wrong, locked)."""
        user = await self._users.get_by_username(normalize_username(username))
        if user is None:
            await self._passwords.verify_dummy(password)  # same work as for a real account
            raise InvalidCredentialsError()
        now = utcnow()
        matches = await self._passwords.verify(user.password_hash, password)
        if user.is_locked(now):
            log.warning("sign-in refused: account locked", extra={"user_id": user.id})
            raise InvalidCredentialsError()
        if not matches:
            updated = await self._users.record_failure(user.id, at=now, policy=self._lockout)
            if updated is not None and updated.is_locked(now):
                log.warning("account locked after failed sign-ins", extra={"user_id": user.id})
            raise InvalidCredentialsError()
        if user.failed_logins or user.locked_until is not None:
            await self._users.reset_failures(user.id)
        return self.tokens.issue(user)

    async def authenticate(self, token: str) -> Authenticated:
        claims = self.tokens.verify(token)
        user = await self._users.get(claims.subject)
        if user is None or user.session_version != claims.session_version:
            raise SessionEndedError()
        # The stored role wins over the token's, so a demotion applies at once.
        return Authenticated(Principal(id=user.id, is_admin=user.is_admin), claims)

    async def logout(self, principal: Principal) -> None:
        """End every session of this user (all tokens issued so far stop working)."""
        await self._users.end_sessions(principal.id)

    async def get(self, user_id: str) -> User | None:
        return await self._users.get(user_id)

    async def seed_admin(self, username: str, password: str) -> SeedOutcome:
        """Create the admin on first start; an existing account is never changed."""
        existing = await self._users.get_by_username(check_username(username))
        if existing is not None:
            return SeedOutcome.EXISTS if existing.is_admin else SeedOutcome.NAME_TAKEN_BY_USER
        try:
            await self.register(username, password, role=Role.ADMIN)
        except UsernameTakenError:  # another API replica seeded it first
            return SeedOutcome.EXISTS
        return SeedOutcome.CREATED
