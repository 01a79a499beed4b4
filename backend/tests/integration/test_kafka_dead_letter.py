"""Malformed messages on a real topic go to the dead-letter topic and never stop the consumer."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from sandpod.adapters.kafka import KafkaEventBus
from sandpod.adapters.kafka.wire_format import frame
from sandpod.domain.events import Event, EventType, ExecutionStarted
from tests.kafka_support import fast_options, read_dead_letters, started_bus
from tests.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNKNOWN_SCHEMA_ID = 2**31 - 1


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bus() -> AsyncIterator[KafkaEventBus]:
    async with started_bus(fast_options()) as started:
        yield started


async def test_malformed_messages_are_dead_lettered_and_the_next_event_is_handled(
    bus: KafkaEventBus,
) -> None:
    token = uuid.uuid4().hex[:12]
    execution_id = f"ex_{token}"  # one key: one partition, so the good event queues behind
    topic = bus.topic
    group = f"dead-letter-{token}"
    started_id = await bus.codec.register()
    bad = {
        "magic": (b"\x01\x00\x00\x00\x01garbage", "unknown magic byte 1"),
        "unknown-id": (frame(UNKNOWN_SCHEMA_ID, b"\x00"), f"no schema with id {UNKNOWN_SCHEMA_ID}"),
        "garbage-avro": (frame(started_id, b"\xff\xff\xff\xff"), "cannot read Avro"),
        "short": (b"\x00\x01", "shorter than the header"),
    }
    handled: list[Event] = []

    async def handler(event: Event) -> None:
        if event.execution_id == execution_id:
            handled.append(event)

    producer = AIOKafkaProducer(bootstrap_servers=bus.options.bootstrap_servers)
    await producer.start()
    try:
        offsets = {}
        for name, (value, _) in bad.items():
            sent = await producer.send_and_wait(topic, value=value, key=execution_id.encode())
            offsets[name] = (sent.partition, sent.offset)
    finally:
        await producer.stop()
    await bus.publish(ExecutionStarted(execution_id=execution_id, runner="after-the-garbage"))

    consumer = asyncio.create_task(bus.consume(group, [EventType.STARTED], handler))
    try:
        await eventually(lambda: len(handled) == 1, what="the valid event after the bad ones")
        letters = await read_dead_letters(
            bus.options, lambda letter: letter.key == execution_id, expect=len(bad)
        )
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)

    assert isinstance(handled[0], ExecutionStarted)
    assert handled[0].runner == "after-the-garbage"
    by_offset = {int(letter.headers["original_offset"]): letter for letter in letters}
    for name, (value, reason) in bad.items():
        partition, offset = offsets[name]
        letter = by_offset[offset]
        assert letter.value == value, f"{name}: the original bytes are kept"
        assert reason in letter.headers["error"], name
        assert letter.headers["error"].startswith("undecodable: ")
        assert letter.headers["original_topic"] == topic
        assert letter.headers["original_partition"] == str(partition)
        assert letter.headers["group"] == f"{group}{bus.options.group_suffix}"
