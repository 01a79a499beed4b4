"""Decide whether accounts are on and build the account service (the API's and embedded mode's).

The rules:
- auth_required unset: off in embedded mode bound to loopback, on otherwise;
- off is refused unless embedded and bound to loopback (a warning line says it is off);
- on needs SANDPOD_JWT_SECRET, except in development (then a random per-process secret);
- the admin is seeded from SANDPOD_ADMIN_USERNAME/PASSWORD on start when no such account exists;
  without a password nothing is seeded (there is no default password anywhere).
"""

import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sandpod.adapters.auth.passwords import Argon2PasswordHasher
from sandpod.adapters.auth.tokens import MIN_SECRET_BYTES, JwtTokenIssuer
from sandpod.composition.errors import StartupError
from sandpod.config import Environment, Mode, Settings
from sandpod.domain.passwords import WeakPasswordError, check_password
from sandpod.domain.users import InvalidUsernameError, LockoutPolicy, check_username
from sandpod.ports import UserStore
from sandpod.services.accounts import AccountService, SeedOutcome

log = logging.getLogger(__name__)


class AuthSetupError(StartupError):
    """Settings that would run the API unsafely."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_enabled(settings: Settings) -> bool:
    local = settings.mode is Mode.EMBEDDED and is_loopback(settings.host)
    if settings.auth.auth_required is None:
        return not local
    if not settings.auth.auth_required and not local:
        where = "distributed mode" if settings.mode is Mode.DISTRIBUTED else settings.host
        raise AuthSetupError(
            f"refusing to run without authentication on {where}: only embedded mode bound to "
            "loopback (127.0.0.1, ::1) may; set SANDPOD_AUTH_REQUIRED=true or bind 127.0.0.1"
        )
    return settings.auth.auth_required


def build_accounts(settings: Settings, users: UserStore) -> AccountService | None:
    """The account service, or None when authentication is off (after a warning line)."""
    try:
        return _accounts(settings, users)
    except ValueError as error:  # a setting the password hasher or token issuer refuses
        raise AuthSetupError(str(error)) from error


def _accounts(settings: Settings, users: UserStore) -> AccountService | None:
    if not auth_enabled(settings):
        log.warning(
            "authentication is OFF: bound to loopback %s:%s, every request acts as the local "
            "admin; set SANDPOD_AUTH_REQUIRED=true to require accounts",
            settings.host,
            settings.port,
        )
        return None
    _check_admin(settings)
    return AccountService(
        users=users,
        passwords=Argon2PasswordHasher(
            time_cost=settings.auth.password_hash_time_cost,
            memory_kib=settings.auth.password_hash_memory_kib,
        ),
        tokens=JwtTokenIssuer(
            _secret(settings), ttl_seconds=settings.auth.access_token_ttl_seconds
        ),
        lockout=LockoutPolicy(
            max_failures=settings.auth.login_max_failures,
            window=timedelta(seconds=settings.auth.login_failure_window_seconds),
            lock=timedelta(seconds=settings.auth.login_lockout_seconds),
        ),
        registration_open=settings.auth.registration_open,
    )


def admin_seeder(settings: Settings, accounts: AccountService) -> Callable[[], Awaitable[None]]:
    """A startup hook that creates the admin account when it does not exist yet."""

    async def seed() -> None:
        if settings.auth.admin_password is None:
            log.warning(
                "SANDPOD_ADMIN_PASSWORD is not set: no admin account is seeded "
                "(an existing one keeps working)"
            )
            return
        outcome = await accounts.seed_admin(
            settings.auth.admin_username, settings.auth.admin_password.get_secret_value()
        )
        if outcome is SeedOutcome.CREATED:
            log.info("admin account created", extra={"username": settings.auth.admin_username})
        elif outcome is SeedOutcome.NAME_TAKEN_BY_USER:
            log.warning(
                "admin not seeded: a non-admin account is named %r", settings.auth.admin_username
            )

    return seed


def _secret(settings: Settings) -> str:
    if settings.auth.jwt_secret is not None:
        secret = settings.auth.jwt_secret.get_secret_value()
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise AuthSetupError(f"SANDPOD_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        return secret
    if settings.environment is Environment.DEVELOPMENT:
        log.warning(
            "SANDPOD_JWT_SECRET is not set: using a random per-process secret "
            "(development only; tokens stop working when the process restarts)"
        )
        return secrets.token_urlsafe(48)
    raise AuthSetupError(
        "authentication is on but SANDPOD_JWT_SECRET is not set; generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
        "(or set SANDPOD_ENVIRONMENT=development for a random per-process secret)"
    )


def _check_admin(settings: Settings) -> None:
    """Refuse a seeded admin whose name or password breaks the rules before anything starts."""
    if settings.auth.admin_password is None:
        return
    try:
        name = check_username(settings.auth.admin_username)
        check_password(settings.auth.admin_password.get_secret_value(), name)
    except (InvalidUsernameError, WeakPasswordError) as error:
        raise AuthSetupError(f"SANDPOD_ADMIN_USERNAME/SANDPOD_ADMIN_PASSWORD: {error}") from error
