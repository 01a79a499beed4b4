"""Idempotency keys with a time to live, in a dict."""

import time


class InMemoryIdempotencyKeys:
    def __init__(self) -> None:
        self._bindings: dict[tuple[str, str], tuple[str, str, float]] = {}

    async def claim(
        self, scope: str, key: str, fingerprint: str, execution_id: str, ttl_seconds: int
    ) -> tuple[str, str] | None:
        now = time.monotonic()
        existing = self._bindings.get((scope, key))
        if existing is not None and existing[2] > now:
            return existing[0], existing[1]
        self._bindings[(scope, key)] = (fingerprint, execution_id, now + ttl_seconds)
        if len(self._bindings) > 10_000:
            self._evict_expired(now)
        return None

    async def release(self, scope: str, key: str, *, only_for: str | None = None) -> None:
        bound = self._bindings.get((scope, key))
        if bound is not None and only_for in (None, bound[1]):
            del self._bindings[(scope, key)]

    def _evict_expired(self, now: float) -> None:
        for binding, (_, _, expires) in list(self._bindings.items()):
            if expires <= now:
                del self._bindings[binding]
