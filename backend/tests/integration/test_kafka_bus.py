"""Kafka-only behaviour of the event bus: names, the registry's rules, order under concurrency,
and clear errors when a server is missing. The shared contract is in tests/contract."""

import asyncio
import json
import random
import socket
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from confluent_kafka.schema_registry import AsyncSchemaRegistryClient

from sandpod.adapters.kafka import KafkaEventBus
from sandpod.adapters.kafka.avro_schema import avro_schema
from sandpod.adapters.kafka.codec import schema_for
from sandpod.adapters.kafka.registry import ConfluentSchemaRegistry, IncompatibleSchemaError
from sandpod.domain.events import Event, EventType, ExecutionStarted
from sandpod.ports import ServiceUnavailableError
from tests import isolation
from tests.kafka_support import fast_options, require_kafka_services, started_bus
from tests.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bus() -> AsyncIterator[KafkaEventBus]:
    async with started_bus(fast_options()) as started:
        yield started


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_topics_and_subjects_are_named_by_prefix_with_backward_compatibility(
    bus: KafkaEventBus,
) -> None:
    prefix = bus.options.topic_prefix
    assert bus.topic(EventType.REQUESTED) == f"{prefix}execution.requested"
    assert bus.dead_letter_topic == f"{prefix}dead-letter"
    subject = bus.subject(EventType.REQUESTED)
    assert subject == f"{bus.options.subject_prefix}{prefix}execution.requested-value"

    client = AsyncSchemaRegistryClient({"url": bus.options.schema_registry_url})
    try:
        assert await client.get_compatibility(subject) == "BACKWARD"
        latest = await client.get_latest_version(subject)
    finally:
        await client.aclose()
    assert latest.schema.schema_str is not None
    assert json.loads(latest.schema.schema_str)["name"] == "ExecutionRequested"
    await bus.ping()


async def test_the_registry_accepts_an_optional_field_and_refuses_a_required_one(
    bus: KafkaEventBus,
) -> None:
    registry = ConfluentSchemaRegistry(bus.options.schema_registry_url)
    subject = f"{isolation.schema_subject_prefix(unique=True)}evolution-value"

    class StartedV2(ExecutionStarted):
        node: str | None = None

    class StartedBroken(ExecutionStarted):
        node: str

    def as_started(model: type[ExecutionStarted]) -> str:
        return json.dumps(avro_schema(model) | {"name": "ExecutionStarted"})

    try:
        first = await registry.register(subject, json.dumps(schema_for(EventType.STARTED)))
        second = await registry.register(subject, as_started(StartedV2))
        assert second != first
        with pytest.raises(IncompatibleSchemaError, match="refused"):
            await registry.register(subject, as_started(StartedBroken))
    finally:
        await registry.close()


async def test_one_executions_events_keep_their_order_with_concurrency(bus: KafkaEventBus) -> None:
    token = uuid.uuid4().hex[:12]
    executions = [f"ex_{token}_{n}" for n in range(4)]
    seen: defaultdict[str, list[str]] = defaultdict(list)

    async def slow_handler(event: Event) -> None:
        if token in event.execution_id and isinstance(event, ExecutionStarted):
            await asyncio.sleep(random.uniform(0, 0.01))  # jitter, not security
            seen[event.execution_id].append(event.runner)

    consumer = asyncio.create_task(
        bus.consume(f"order-{token}", [EventType.STARTED], slow_handler, concurrency=4)
    )
    try:
        for step in range(10):
            for execution_id in executions:
                await bus.publish(ExecutionStarted(execution_id=execution_id, runner=f"{step:02d}"))
        await eventually(lambda: sum(map(len, seen.values())) == 40, what="all events")
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)

    for execution_id in executions:
        assert seen[execution_id] == [f"{step:02d}" for step in range(10)]


async def test_starting_without_a_broker_says_which_one() -> None:
    address = f"127.0.0.1:{closed_port()}"
    bus = KafkaEventBus(fast_options(bootstrap_servers=address))

    try:
        with pytest.raises(ServiceUnavailableError, match=f"Kafka at {address} is unavailable"):
            await bus.start()
    finally:
        await bus.close()


async def test_a_missing_registry_is_a_service_error(bus: KafkaEventBus) -> None:
    options = bus.options
    require_kafka_services(options.bootstrap_servers, options.schema_registry_url)
    url = f"http://127.0.0.1:{closed_port()}/apis/ccompat/v7"
    broken = KafkaEventBus(fast_options(schema_registry_url=url, registry_timeout_seconds=1))

    try:
        with pytest.raises(ServiceUnavailableError, match=f"schema registry at {url}"):
            await broken.start()
    finally:
        await broken.close()


async def test_publish_and_ping_on_a_closed_bus_raise_service_errors() -> None:
    bus = KafkaEventBus(fast_options())

    with pytest.raises(ServiceUnavailableError, match="not started"):
        await bus.publish(ExecutionStarted(execution_id="ex_x", runner="r"))
    with pytest.raises(ServiceUnavailableError, match="not started"):
        await bus.ping()
    await bus.close()
