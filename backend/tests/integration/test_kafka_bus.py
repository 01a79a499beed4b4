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
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from confluent_kafka.schema_registry import AsyncSchemaRegistryClient
from fastavro.schema import to_parsing_canonical_form

from sandpod.adapters.kafka import KafkaEventBus
from sandpod.adapters.kafka.avro_schema import avro_union_record
from sandpod.adapters.kafka.codec import lifecycle_schema
from sandpod.adapters.kafka.registry import ConfluentSchemaRegistry, IncompatibleSchemaError
from sandpod.domain.events import (
    EVENT_MODELS,
    Event,
    EventType,
    ExecutionStarted,
)
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
    assert bus.topic == f"{prefix}execution-lifecycle"
    assert bus.dead_letter_topic == f"{prefix}dead-letter"
    subject = bus.subject
    assert subject == f"{bus.options.subject_prefix}{prefix}execution-lifecycle-value"

    client = AsyncSchemaRegistryClient({"url": bus.options.schema_registry_url})
    try:
        assert await client.get_compatibility(subject) == "BACKWARD"
        latest = await client.get_latest_version(subject)
    finally:
        await client.aclose()
    assert latest.schema.schema_str is not None
    # The registry may drop redundant namespaces: compare Avro's canonical forms.
    stored = to_parsing_canonical_form(json.loads(latest.schema.schema_str))
    assert stored == to_parsing_canonical_form(lifecycle_schema())
    await bus.ping()


async def test_the_topics_take_the_largest_lifecycle_record(bus: KafkaEventBus) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bus.options.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, name)
                for name in (bus.topic, bus.dead_letter_topic)
            ]
        )
    finally:
        await admin.close()
    sizes = {}
    for response in described:  # DescribeConfigs: (code, message, type, name, entries) rows
        for _code, _message, _type, name, entries in response.resources:
            for entry in entries:
                if entry[0] == "max.message.bytes":
                    sizes[name] = entry[1]
    assert sizes == {
        bus.topic: str(bus.options.max_message_bytes),
        bus.dead_letter_topic: str(bus.options.max_message_bytes),
    }


async def test_the_registry_accepts_an_optional_field_and_refuses_a_required_one(
    bus: KafkaEventBus,
) -> None:
    registry = ConfluentSchemaRegistry(bus.options.schema_registry_url)
    subject = f"{isolation.schema_subject_prefix(unique=True)}evolution-value"

    class ExecutionPaused(ExecutionStarted):
        """A new event type, added at the end of the union."""

    class StartedV2(ExecutionStarted):
        node: str | None = None

    class StartedBroken(ExecutionStarted):
        node: str

    def with_started(model: type[ExecutionStarted], *extra: type[ExecutionStarted]) -> str:
        models = [m for m in EVENT_MODELS.values() if m is not ExecutionStarted]
        schema = avro_union_record("ExecutionLifecycle", "event", [model, *models, *extra], doc="")
        for branch in schema["fields"][0]["type"]:
            if branch["name"] in ("StartedV2", "StartedBroken"):
                branch["name"] = "ExecutionStarted"  # the same record, next version
        return json.dumps(schema)

    try:
        first = await registry.register(subject, json.dumps(lifecycle_schema()))
        second = await registry.register(subject, with_started(StartedV2))
        assert second != first
        third = await registry.register(subject, with_started(StartedV2, ExecutionPaused))
        assert third != second
        with pytest.raises(IncompatibleSchemaError, match="refused"):
            await registry.register(subject, with_started(StartedBroken))
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
