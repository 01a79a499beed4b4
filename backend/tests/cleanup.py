"""Drop what a test left on the shared servers: its Mongo database, Redis keys and Kafka topics."""

import contextlib
from typing import Any

import pymongo
import redis.asyncio
from aiokafka.admin import AIOKafkaAdminClient

from sandpod.config import Settings


async def clean_shared_servers(config: Settings) -> None:
    """Drop this test's database, keys and topics (names from tests.isolation)."""
    mongo: pymongo.MongoClient[dict[str, Any]]
    with (
        contextlib.suppress(pymongo.errors.PyMongoError),
        pymongo.MongoClient(
            config.mongo.url.get_secret_value(), serverSelectionTimeoutMS=2000
        ) as mongo,
    ):
        mongo.drop_database(config.mongo.database)
    client = redis.asyncio.Redis.from_url(
        config.redis.url.get_secret_value(), socket_connect_timeout=2
    )
    with contextlib.suppress(redis.RedisError):
        keys = [key async for key in client.scan_iter(f"{config.redis.prefix}*")]
        if keys:
            await client.delete(*keys)
    await client.aclose()
    admin = AIOKafkaAdminClient(
        bootstrap_servers=config.kafka.bootstrap_servers, request_timeout_ms=5000
    )
    with contextlib.suppress(Exception):
        await admin.start()
        topics = [t for t in await admin.list_topics() if t.startswith(config.kafka.topic_prefix)]
        if topics:
            await admin.delete_topics(topics)
    with contextlib.suppress(Exception):
        await admin.close()
