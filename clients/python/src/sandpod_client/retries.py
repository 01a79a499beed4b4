"""When to try a request again and how long to wait first (the sync and async clients share it).

- 429 (rate limited): the server refused before doing anything, so any request may be retried.
- 503 (unavailable) and 502/504 (a proxy's): retried only when repeating the request is safe:
  reads, deletes, cancels, and submits (they always carry an Idempotency-Key, so a repeat
  returns the first execution instead of running the script again).
- No answer at all: a connect error means the request never left, so it is always retried; a
  read error or timeout is retried only when repeating is safe, as above.

The wait is the server's Retry-After when it sent one (seconds or an HTTP date), else an
exponential backoff with jitter; either is capped by `max_delay`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

ALWAYS_RETRIED = frozenset({429})
RETRIED_WHEN_SAFE = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 0.5  # seconds before the first retry without Retry-After; doubles each time
    max_delay: float = 30.0

    def should_retry(self, attempt: int, status: int, *, safe: bool) -> bool:
        """`attempt` counts the retries already made."""
        if attempt >= self.max_retries:
            return False
        return status in ALWAYS_RETRIED or (safe and status in RETRIED_WHEN_SAFE)

    def should_retry_error(self, attempt: int, error: httpx.TransportError, *, safe: bool) -> bool:
        if attempt >= self.max_retries:
            return False
        return safe or isinstance(error, httpx.ConnectError)

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        if response is not None:
            told = retry_after(response)
            if told is not None:
                return min(told, self.max_delay)
        # Full jitter: clients refused together do not all come back at the same moment.
        ceiling = min(self.backoff * (2**attempt), self.max_delay)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (timing, not secrets)


NO_RETRIES = RetryPolicy(max_retries=0)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked to wait (Retry-After: seconds or an HTTP date), if it did."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
