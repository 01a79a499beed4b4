"""Adapters for the contract tests: each port's in-process adapter and its real one.

The real ones talk to the servers `make services-up` starts (addresses from SANDPOD_MONGO_URL and
SANDPOD_REDIS_URL, else the defaults in Settings). A server that is not running fails the tests
that need it, never skips them: CI starts the servers, so a skip would hide a broken setup.
Each xdist worker has its own Mongo database and each test its own Redis key prefix (isolation.py).
"""

from collections.abc import AsyncIterator, Iterator

import pymongo
import pytest
import redis
from pymongo.errors import PyMongoError

from sandpod.adapters.memory.idempotency import InMemoryIdempotencyKeys
from sandpod.adapters.memory.live_updates import InMemoryLiveUpdates
from sandpod.adapters.memory.rate_limiter import InMemoryRateLimiter
from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.adapters.mongo import MongoExecutionStore, connect_mongo
from sandpod.adapters.redis import RedisAdapters, connect_redis
from sandpod.config import MongoSettings, RedisSettings
from sandpod.ports import ExecutionStore, IdempotencyKeys, LiveUpdates, RateLimiter
from tests import isolation

START_SERVICES = "run `make services-up` (scripts/services/services.sh up redis mongo)"


@pytest.fixture(scope="session")
def mongo_url() -> str:
    url = MongoSettings().url.get_secret_value()
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=2000
    )
    try:
        client.admin.command("ping")
    except PyMongoError as error:
        reason = str(error).partition(" (configured timeouts")[0]
        pytest.fail(f"MongoDB (FerretDB) is not reachable: {reason}; {START_SERVICES}", False)
    finally:
        client.close()
    return url


@pytest.fixture(scope="session")
def mongo_database(mongo_url: str) -> Iterator[pymongo.database.Database[dict[str, object]]]:
    """This worker's database, dropped when the worker ends."""
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(mongo_url)
    name = isolation.mongo_database()
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = RedisSettings().url.get_secret_value()
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is not reachable: {error}; {START_SERVICES}", False)
    finally:
        client.close()
    return url


@pytest.fixture
async def mongo_store(
    mongo_url: str, mongo_database: pymongo.database.Database[dict[str, object]]
) -> AsyncIterator[MongoExecutionStore]:
    settings = isolation.isolated_settings(
        mongo={"url": mongo_url, "database": mongo_database.name}
    )
    store = await connect_mongo(settings.mongo)
    try:
        yield store
    finally:
        await store.close()
        for collection in mongo_database.list_collection_names():
            mongo_database.drop_collection(collection)


@pytest.fixture
async def redis_adapters(redis_url: str) -> AsyncIterator[RedisAdapters]:
    settings = isolation.isolated_settings(unique=True, redis={"url": redis_url})
    adapters = await connect_redis(settings.redis)
    try:
        yield adapters
    finally:
        keys = [key async for key in adapters.client.scan_iter(f"{settings.redis.prefix}*")]
        if keys:
            await adapters.client.delete(*keys)
        await adapters.close()


# The parametrized fixtures are sync: they pick an adapter; async fixtures above build the real one.
@pytest.fixture(params=["memory", "mongo"])
def store(request: pytest.FixtureRequest) -> ExecutionStore:
    if request.param == "memory":
        return InMemoryExecutionStore()
    mongo: MongoExecutionStore = request.getfixturevalue("mongo_store")
    return mongo


@pytest.fixture(params=["memory", "redis"])
def idempotency(request: pytest.FixtureRequest) -> IdempotencyKeys:
    if request.param == "memory":
        return InMemoryIdempotencyKeys()
    adapters: RedisAdapters = request.getfixturevalue("redis_adapters")
    return adapters.idempotency


@pytest.fixture(params=["memory", "redis"])
def rate_limiter(request: pytest.FixtureRequest) -> RateLimiter:
    if request.param == "memory":
        return InMemoryRateLimiter()
    adapters: RedisAdapters = request.getfixturevalue("redis_adapters")
    return adapters.rate_limiter


@pytest.fixture(params=["memory", "redis"])
def live_updates(request: pytest.FixtureRequest) -> LiveUpdates:
    if request.param == "memory":
        return InMemoryLiveUpdates()
    adapters: RedisAdapters = request.getfixturevalue("redis_adapters")
    return adapters.live_updates
