"""Signing and verifying sandpod's webhook requests (standard library only: copy it freely).

A request carries `Sandpod-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the HMAC,
keyed with the user's webhook secret, covers `"<t>.<raw body>"`. A receiver recomputes it over
the raw bytes it received and refuses a timestamp older than `tolerance` seconds (a replay).
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Sandpod-Signature"
DELIVERY_HEADER = "Sandpod-Delivery"
EVENT_HEADER = "Sandpod-Event"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureVerificationError(ValueError):
    """The request was not signed with this secret, or is too old to accept."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `Sandpod-Signature` header value for `body`, signed now (or at `timestamp`)."""
    at = int(time.time()) if timestamp is None else timestamp
    return f"t={at},v1={_digest(secret, at, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> None:
    """Raise SignatureVerificationError unless `header` signs `body` with `secret`, recently.

    `body` must be the raw request bytes (not re-serialized JSON). Any `v1` entry that matches
    is accepted, so a sender may list several signatures.
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureVerificationError("the signature header needs t=<seconds> and v1=<hex>")
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance:
        raise SignatureVerificationError(
            f"the signature's timestamp is {age:.0f} s away from now (at most {tolerance} s)"
        )
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise SignatureVerificationError("no v1 signature matches this body and secret")
