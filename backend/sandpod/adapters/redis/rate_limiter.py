"""Fixed-window rate limiter: one counter per key and window, the algorithm of the memory one."""

import time

from redis.asyncio import Redis

from sandpod.adapters.redis.errors import unavailable_when_down
from sandpod.ports import RateDecision

# INCR and EXPIRE in one atomic step, so a counter never outlives its window.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


class RedisRateLimiter:
    def __init__(self, client: Redis, prefix: str) -> None:
        self._client = client
        self._prefix = f"{prefix}rate:"
        self._hit = client.register_script(_HIT)  # EVALSHA, reloaded if Redis restarted

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        now = time.time()
        window = int(now // window_seconds)
        with unavailable_when_down(self._client):
            count = int(
                await self._hit(keys=[f"{self._prefix}{key}:{window}"], args=[window_seconds + 1])
            )
        return RateDecision(
            allowed=count <= limit,
            limit=limit,
            remaining=max(0, limit - count),
            reset_seconds=(window + 1) * window_seconds - now,
        )
