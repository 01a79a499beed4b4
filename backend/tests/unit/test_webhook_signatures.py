"""The webhook signature contract: t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""

import hashlib
import hmac

import pytest

from sandpod.domain.webhook_signatures import SignatureVerificationError, sign, verify_signature

SECRET = "whsec_test"
BODY = b'{"id":"ex_1","status":"completed"}'
NOW = 1_800_000_000


def test_the_header_is_the_documented_hmac_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, timestamp=NOW) == f"t={NOW},v1={expected}"


def test_a_fresh_signature_verifies() -> None:
    verify_signature(SECRET, sign(SECRET, BODY, timestamp=NOW), BODY, now=NOW + 299)


@pytest.mark.parametrize(
    ("header", "body", "secret", "why"),
    [
        (sign(SECRET, BODY, timestamp=NOW), BODY + b" ", SECRET, "no v1 signature matches"),
        (sign(SECRET, BODY, timestamp=NOW), BODY, "whsec_other", "no v1 signature matches"),
        (sign(SECRET, BODY, timestamp=NOW - 301), BODY, SECRET, "away from now"),
        (f"t={NOW},v1=" + "0" * 64, BODY, SECRET, "no v1 signature matches"),
        (f"v1={sign(SECRET, BODY, timestamp=NOW)[-64:]}", BODY, SECRET, "needs t="),
        (f"t={NOW}", BODY, SECRET, "needs t="),
        ("", BODY, SECRET, "needs t="),
    ],
    ids=["body changed", "other secret", "too old", "forged", "no time", "no v1", "empty"],
)
def test_a_bad_signature_is_rejected(header: str, body: bytes, secret: str, why: str) -> None:
    with pytest.raises(SignatureVerificationError, match=why):
        verify_signature(secret, header, body, now=NOW)


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    replayed = sign(SECRET, BODY, timestamp=NOW).replace(f"t={NOW}", f"t={NOW + 100}")
    with pytest.raises(SignatureVerificationError, match="no v1 signature matches"):
        verify_signature(SECRET, replayed, BODY, now=NOW + 100)
