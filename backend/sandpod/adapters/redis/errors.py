"""Turn "Redis cannot be reached" into the port's ServiceUnavailableError."""

from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from sandpod.ports import ServiceUnavailableError

# BusyLoadingError (Redis still loading its data) is a ConnectionError too.
DOWN_ERRORS = (RedisConnectionError, RedisTimeoutError)


@contextmanager
def unavailable_when_down(client: Redis) -> Iterator[None]:
    try:
        yield
    except DOWN_ERRORS as error:
        raise ServiceUnavailableError(
            f"Redis at {address(client)} is unavailable: {error}"
        ) from error


def address(client: Redis) -> str:
    # From the connection settings, not the URL: the URL may carry a password.
    options = client.connection_pool.connection_kwargs
    if "path" in options:
        return f"unix:{options['path']}"
    return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"
