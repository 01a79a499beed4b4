"""verify_webhook: the webhook signature contract (Sandpod-Signature: t=...,v1=HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from sandpod_client import WebhookVerificationError, sign_webhook, verify_webhook
from tests.test_transport import FINISHED

SECRET = "whsec_test"
BODY = json.dumps(FINISHED).encode()
NOW = 1_800_000_000


def headers(signature: str) -> dict[str, str]:
    return {
        "sandpod-signature": signature,
        "Sandpod-Delivery": "d1",
        "Sandpod-Event": "execution.finished",
    }


def test_a_delivery_signed_as_the_contract_says_is_accepted() -> None:
    # Computed here from the contract's words, not with the SDK's own signer.
    digest = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    execution = verify_webhook(SECRET, headers(f"t={NOW},v1={digest}"), BODY, now=NOW + 10)
    assert execution.id == "ex1"
    assert execution.stdout == "1\n"


def test_sign_webhook_makes_the_header_verify_accepts() -> None:
    signature = sign_webhook(SECRET, BODY, timestamp=NOW)
    assert signature.startswith(f"t={NOW},v1=")
    assert verify_webhook(SECRET, headers(signature), BODY.decode(), now=NOW).id == "ex1"


@pytest.mark.parametrize(
    ("secret", "body", "now", "message"),
    [
        ("another secret", BODY, NOW, "does not match"),
        (SECRET, BODY.replace(b'"1\\n"', b'"2\\n"'), NOW, "does not match"),
        (SECRET, BODY, NOW + 301, "away from now"),
        (SECRET, BODY, NOW - 301, "away from now"),
    ],
    ids=["wrong secret", "changed body", "too old", "from the future"],
)
def test_a_bad_delivery_is_rejected(secret: str, body: bytes, now: int, message: str) -> None:
    signature = sign_webhook(SECRET, BODY, timestamp=NOW)
    with pytest.raises(WebhookVerificationError, match=message):
        verify_webhook(secret, headers(signature), body, now=now)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", f"t={NOW}", "v1=00", f"t={NOW},v0=00"])
def test_a_malformed_signature_header_is_rejected(header: str) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(SECRET, headers(header), BODY, now=NOW)


def test_a_missing_signature_header_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="no Sandpod-Signature"):
        verify_webhook(SECRET, {"Sandpod-Delivery": "d1"}, BODY, now=NOW)


def test_any_one_of_several_signatures_may_match_during_a_rotation() -> None:
    good = sign_webhook(SECRET, BODY, timestamp=NOW).split(",")[1]
    header = f"t={NOW},v1={'0' * 64},{good}"
    assert verify_webhook(SECRET, headers(header), BODY, now=NOW).id == "ex1"
