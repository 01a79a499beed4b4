"""Fixed-window rate limiter in a dict (the Redis adapter uses the same algorithm)."""

import time

from sandpod.ports import RateDecision


class InMemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[tuple[str, int], int] = {}

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        now = time.time()
        window = int(now // window_seconds)
        slot = (key, window)
        count = self._windows.get(slot, 0) + 1
        self._windows[slot] = count
        if len(self._windows) > 50_000:
            self._windows = {k: v for k, v in self._windows.items() if k[1] >= window}
        reset = (window + 1) * window_seconds - now
        return RateDecision(
            allowed=count <= limit,
            limit=limit,
            remaining=max(0, limit - count),
            reset_seconds=reset,
        )
