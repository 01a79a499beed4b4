"""Build the Redis client and the three adapters from settings (the factory bootstrap calls)."""

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from sandpod.adapters.redis.errors import unavailable_when_down
from sandpod.adapters.redis.idempotency import RedisIdempotencyKeys
from sandpod.adapters.redis.live_updates import RedisLiveUpdates
from sandpod.adapters.redis.output_log import RedisOutputLog
from sandpod.adapters.redis.rate_limiter import RedisRateLimiter
from sandpod.config import OutputSettings, RedisSettings


def redis_client(url: str) -> Redis:
    """A client that fails fast while Redis is down and reconnects by itself afterwards."""
    return Redis.from_url(
        url,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        # redis-py's default retries for several seconds; a few quick tries, then report it.
        retry=Retry(ExponentialBackoff(cap=0.25, base=0.05), retries=2),
        health_check_interval=15,
    )


@dataclass(frozen=True)
class RedisAdapters:
    """The Redis-backed ports, sharing one client (one connection pool)."""

    client: Redis
    rate_limiter: RedisRateLimiter
    idempotency: RedisIdempotencyKeys
    live_updates: RedisLiveUpdates
    output_log: RedisOutputLog

    async def ping(self) -> None:
        with unavailable_when_down(self.client):
            await self.client.ping()

    async def close(self) -> None:
        await self.live_updates.close()
        await self.client.aclose()


async def connect_redis(
    settings: RedisSettings, *, output: OutputSettings | None = None, check: bool = True
) -> RedisAdapters:
    """The adapters; with `check`, raises ServiceUnavailableError when Redis is unreachable."""
    client = redis_client(settings.url.get_secret_value())
    prefix = settings.prefix
    output = output or OutputSettings()
    adapters = RedisAdapters(
        client=client,
        rate_limiter=RedisRateLimiter(client, prefix),
        idempotency=RedisIdempotencyKeys(client, prefix),
        live_updates=RedisLiveUpdates(client, prefix),
        output_log=RedisOutputLog(
            client,
            prefix,
            retention_seconds=output.retention_seconds,
            max_chunks=output.max_chunks,
        ),
    )
    if check:
        try:
            await adapters.ping()
        except BaseException:
            await adapters.close()
            raise
    return adapters
