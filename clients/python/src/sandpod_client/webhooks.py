"""Checking that a webhook delivery came from sandpod, unchanged and recently.

Each delivery is a POST whose body is the execution as `GET /api/v1/executions/{id}` returns it,
with the headers
- `Sandpod-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with
  your webhook secret (`client.webhooks.secret()`);
- `Sandpod-Delivery: <id>`, the same on every retry of one delivery (to drop repeats);
- `Sandpod-Event: execution.finished`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from sandpod_client.models import Execution

SIGNATURE_HEADER = "Sandpod-Signature"
DELIVERY_HEADER = "Sandpod-Delivery"
EVENT_HEADER = "Sandpod-Event"
TOLERANCE_SECONDS = 300


class WebhookVerificationError(ValueError):
    """The delivery is not signed with the secret, was changed, or is too old."""


def sign_webhook(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `Sandpod-Signature` header value for `body` (for receivers' own tests)."""
    when = int(time.time()) if timestamp is None else timestamp
    return f"t={when},v1={_digest(secret, when, body)}"


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> Execution:
    """The delivered execution, once the signature over its raw body checks out and is at most
    `tolerance` seconds old; else WebhookVerificationError. Pass the body exactly as received:
    parsing and re-serialising it changes the bytes the signature covers."""
    raw = body.encode() if isinstance(body, str) else body
    header = _header(headers, SIGNATURE_HEADER)
    if header is None:
        raise WebhookVerificationError(f"no {SIGNATURE_HEADER} header")
    timestamp, signatures = _parse(header)
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance:
        raise WebhookVerificationError(
            f"the signature's timestamp is {age:.0f} s away from now (tolerance {tolerance:g} s)"
        )
    expected = _digest(secret, timestamp, raw)
    # Several v1 values may come during a secret rotation: one matching is enough.
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookVerificationError("the signature does not match the body and the secret")
    return Execution.model_validate_json(raw)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookVerificationError(f"bad timestamp in {SIGNATURE_HEADER}") from None
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} needs t=... and v1=...")
    return timestamp, signatures
