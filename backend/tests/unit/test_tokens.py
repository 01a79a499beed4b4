"""Access tokens: issued claims, and every way a token must be refused."""

import base64
import json
import time

import jwt
import pytest

from sandpod.adapters.auth.tokens import ALGORITHM, ISSUER, JwtTokenIssuer
from sandpod.domain.users import Role, User
from sandpod.services.errors import InvalidTokenError, TokenExpiredError

SECRET = "s" * 40
USER = User(id="usr_1", username="ada", password_hash="x", role=Role.ADMIN, session_version=3)


@pytest.fixture
def issuer() -> JwtTokenIssuer:
    return JwtTokenIssuer(SECRET, ttl_seconds=600, leeway_seconds=0)


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": ISSUER,
        "sub": "usr_1",
        "role": "user",
        "sv": 0,
        "jti": "j1",
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def test_issue_then_verify_round_trips_the_claims(issuer: JwtTokenIssuer) -> None:
    issued = issuer.issue(USER)
    verified = issuer.verify(issued.token)
    assert verified == issued.claims
    assert verified.subject == "usr_1"
    assert verified.role is Role.ADMIN
    assert verified.session_version == 3
    assert verified.expires_at - verified.issued_at == issued.expires_in == 600
    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == "HS256"
    payload = jwt.decode(issued.token, SECRET, algorithms=[ALGORITHM], issuer=ISSUER)
    assert set(payload) == {"iss", "sub", "role", "sv", "jti", "iat", "exp"}


def test_each_token_has_its_own_id(issuer: JwtTokenIssuer) -> None:
    assert issuer.issue(USER).claims.token_id != issuer.issue(USER).claims.token_id


def test_expired_token_is_refused(issuer: JwtTokenIssuer) -> None:
    old = issuer.issue(USER, now=time.time() - 3600)
    with pytest.raises(TokenExpiredError, match="expired"):
        issuer.verify(old.token)


def test_tampered_signature_is_refused(issuer: JwtTokenIssuer) -> None:
    token = issuer.issue(USER).token
    head, body, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(InvalidTokenError):
        issuer.verify(f"{head}.{body}.{flipped}")


def test_tampered_payload_is_refused(issuer: JwtTokenIssuer) -> None:
    head, body, signature = issuer.issue(USER).token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidTokenError):
        issuer.verify(f"{head}.{forged}.{signature}")


def test_other_secret_is_refused(issuer: JwtTokenIssuer) -> None:
    token = jwt.encode(claims(), "o" * 40, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        issuer.verify(token)


def test_alg_none_is_refused(issuer: JwtTokenIssuer) -> None:
    token = jwt.encode(claims(role="admin"), "", algorithm="none")
    with pytest.raises(InvalidTokenError):
        issuer.verify(token)


def test_other_hmac_algorithm_is_refused(issuer: JwtTokenIssuer) -> None:
    token = jwt.encode(claims(), SECRET + "x" * 40, algorithm="HS512")
    with pytest.raises(InvalidTokenError):
        issuer.verify(token)


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "role", "jti", "sv", "iss"])
def test_missing_claims_are_refused(issuer: JwtTokenIssuer, missing: str) -> None:
    token = jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        issuer.verify(token)


@pytest.mark.parametrize(
    "bad",
    [
        {"role": "root"},
        {"sv": "3"},
        {"sub": ""},
        {"jti": 5},
        {"iss": "someone-else"},
        {"iat": int(time.time()) + 3600},
    ],
)
def test_malformed_claims_are_refused(issuer: JwtTokenIssuer, bad: dict[str, object]) -> None:
    token = jwt.encode(claims(**bad), SECRET, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        issuer.verify(token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z"])
def test_garbage_is_refused(issuer: JwtTokenIssuer, garbage: str) -> None:
    with pytest.raises(InvalidTokenError):
        issuer.verify(garbage)


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        JwtTokenIssuer("short", ttl_seconds=60)


def test_csrf_token_is_bound_to_the_token_id(issuer: JwtTokenIssuer) -> None:
    assert issuer.csrf_token("a") == issuer.csrf_token("a")
    assert issuer.csrf_token("a") != issuer.csrf_token("b")
    assert JwtTokenIssuer("t" * 40, ttl_seconds=60).csrf_token("a") != issuer.csrf_token("a")
