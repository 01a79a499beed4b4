"""Helpers for tests against the real Kafka and Schema Registry (make services-up)."""

import asyncio
import socket
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from sandpod.adapters.kafka import KafkaEventBus, KafkaOptions, options_from_settings
from tests import isolation

START_SERVICES = "run `make services-up` (scripts/services/services.sh up kafka schema-registry)"


def require_kafka_services(bootstrap: str, registry: str) -> None:
    """Fail (not skip) with the fix when Kafka or the registry is not running: CI starts them,
    so a skip would hide a broken setup."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as error:
        pytest.fail(f"Kafka is not reachable at {bootstrap} ({error}): {START_SERVICES}", False)
    if not registry.startswith(("http://", "https://")):
        return  # mock:// lives in this process
    try:
        with urllib.request.urlopen(f"{registry}/subjects", timeout=3):
            pass
    except OSError as error:
        pytest.fail(
            f"Schema Registry is not reachable at {registry} ({error}): {START_SERVICES}", False
        )


def fast_options(**overrides: Any) -> KafkaOptions:
    """Options for this xdist worker's own topics, groups and subjects, with short waits."""
    options = replace(
        options_from_settings(isolation.isolated_settings()),
        client_id=f"sandpod-test-{isolation.suffix('-')}",
        max_attempts=3,
        retry_base_seconds=0.01,
        retry_max_seconds=0.05,
        reconnect_max_seconds=0.5,
        publish_timeout_seconds=5,
        ping_timeout_seconds=2,
        request_timeout_ms=5000,
        registry_timeout_seconds=3,
        session_timeout_ms=6000,  # the broker's minimum
        heartbeat_interval_ms=200,  # members learn about rebalances fast
        revoke_wait_seconds=5,
    )
    return replace(options, **overrides)


@asynccontextmanager
async def started_bus(options: KafkaOptions) -> AsyncIterator[KafkaEventBus]:
    require_kafka_services(options.bootstrap_servers, options.schema_registry_url)
    bus = KafkaEventBus(options)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


@dataclass(frozen=True)
class DeadLetterRecord:
    key: str
    value: bytes | None
    headers: dict[str, str]


async def read_dead_letters(
    options: KafkaOptions, wanted: Callable[[DeadLetterRecord], bool], *, expect: int
) -> list[DeadLetterRecord]:
    """Read the dead-letter topic from the start until `expect` wanted records are there."""
    topic = f"{options.topic_prefix}dead-letter"
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=options.bootstrap_servers,
        group_id=f"dead-letter-reader-{uuid.uuid4().hex}",  # a fresh group reads from the start
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[DeadLetterRecord] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < expect:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        letter = DeadLetterRecord(
                            key=record.key.decode() if record.key else "",
                            value=record.value,
                            headers={name: value.decode() for name, value in record.headers},
                        )
                        if wanted(letter):
                            found.append(letter)
    finally:
        await consumer.stop()
    return found
