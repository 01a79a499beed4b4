"""Short-lived access tokens: HS256 JWTs with exp, iat, sub, role, jti and a session version."""

import hashlib
import hmac
import secrets
import time

import jwt

from sandpod.domain.tokens import Claims, IssuedToken
from sandpod.domain.users import Role, User
from sandpod.services.errors import InvalidTokenError, TokenExpiredError

ALGORITHM = "HS256"
ISSUER = "sandpod"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "role", "jti", "sv", "iss")
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash


class JwtTokenIssuer:
    """The TokenIssuer port with PyJWT."""

    def __init__(self, secret: str, *, ttl_seconds: int, leeway_seconds: int = 10) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes long")
        self._key = secret.encode()
        self._ttl = ttl_seconds
        self._leeway = leeway_seconds

    def issue(self, user: User, *, now: float | None = None) -> IssuedToken:
        issued_at = int(time.time() if now is None else now)
        claims = Claims(
            subject=user.id,
            role=user.role,
            session_version=user.session_version,
            token_id=secrets.token_urlsafe(16),
            issued_at=issued_at,
            expires_at=issued_at + self._ttl,
        )
        payload = {
            "iss": ISSUER,
            "sub": claims.subject,
            "role": str(claims.role),
            "sv": claims.session_version,
            "jti": claims.token_id,
            "iat": claims.issued_at,
            "exp": claims.expires_at,
        }
        token = jwt.encode(payload, self._key, algorithm=ALGORITHM)
        return IssuedToken(token=token, expires_in=self._ttl, claims=claims)

    def verify(self, token: str) -> Claims:
        """The token's claims, or TokenExpiredError / InvalidTokenError."""
        try:
            # Only HS256 is accepted: "none" and algorithm-confusion tokens fail here.
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenExpiredError() from error
        except jwt.PyJWTError as error:
            raise InvalidTokenError() from error
        try:
            return Claims(
                subject=_string(payload["sub"]),
                role=Role(payload["role"]),
                session_version=_integer(payload["sv"]),
                token_id=_string(payload["jti"]),
                issued_at=_integer(payload["iat"]),
                expires_at=_integer(payload["exp"]),
            )
        except (ValueError, TypeError) as error:
            raise InvalidTokenError() from error

    def csrf_token(self, token_id: str) -> str:
        """The CSRF token bound to one access token (signed double-submit)."""
        return hmac.new(self._key, f"csrf:{token_id}".encode(), hashlib.sha256).hexdigest()


def _string(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected a non-empty string claim")
    return value


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an integer claim")
    return value
