"""Redis adapters (redis-py asyncio): rate limits, idempotency keys, live updates over pub/sub
and live output on streams.

Every key and channel starts with the configured prefix (SANDPOD_REDIS_PREFIX).
"""

from sandpod.adapters.redis.client import RedisAdapters, connect_redis, redis_client
from sandpod.adapters.redis.idempotency import RedisIdempotencyKeys
from sandpod.adapters.redis.live_updates import RedisLiveUpdates
from sandpod.adapters.redis.output_log import RedisOutputLog
from sandpod.adapters.redis.rate_limiter import RedisRateLimiter

__all__ = [
    "RedisAdapters",
    "RedisIdempotencyKeys",
    "RedisLiveUpdates",
    "RedisOutputLog",
    "RedisRateLimiter",
    "connect_redis",
    "redis_client",
]
