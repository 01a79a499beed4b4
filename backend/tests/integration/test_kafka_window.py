"""The Kafka consumer's sliding window: a slow handler holds one slot, not the others; commits
never pass a record that is not handled; one key's records still go one after the other; records
of event types the member does not want are skipped, and committed, without a handler.

Records meant to share a partition are written to partition 0 directly (encoded by the bus), so
which records sit behind which is known. No timing: every wait is on an event or a condition.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sandpod.adapters.kafka import KafkaEventBus
from sandpod.adapters.kafka.topics import EVENT_TYPE_HEADER
from sandpod.domain.events import (
    CancelRequested,
    Event,
    EventType,
    ExecutionFinished,
    ExecutionStarted,
)
from sandpod.domain.result import EndReason, Result
from tests.kafka_support import fast_options, started_bus
from tests.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

WAIT = 30  # seconds; generous, only reached when something is wrong


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bus() -> AsyncIterator[KafkaEventBus]:
    async with started_bus(fast_options()) as started:
        yield started


def started(execution_id: str, runner: str = "r") -> ExecutionStarted:
    return ExecutionStarted(execution_id=execution_id, runner=runner)


async def publish_to_partition_0(
    bus: KafkaEventBus, events: Sequence[Event], *, type_header: bool = True
) -> list[int]:
    """Publish in this order to partition 0 of the topic; returns their offsets. Without the
    type header, like a producer that does not set it."""
    producer = AIOKafkaProducer(bootstrap_servers=bus.options.bootstrap_servers)
    await producer.start()
    try:
        offsets = []
        for event in events:
            headers = [(EVENT_TYPE_HEADER, event.type.value.encode())] if type_header else []
            sent = await producer.send_and_wait(
                bus.topic,
                value=await bus.codec.encode(event),
                key=event.execution_id.encode(),
                partition=0,
                headers=headers,
            )
            offsets.append(sent.offset)
    finally:
        await producer.stop()
    return offsets


class Consumer:
    """One consume() task, cancelled on exit (a crash in it fails the test)."""

    def __init__(
        self,
        bus: KafkaEventBus,
        group: str,
        handler: Callable[[Event], Awaitable[None]],
        types: tuple[EventType, ...] = (EventType.STARTED,),
    ) -> None:
        self._task = asyncio.create_task(bus.consume(group, list(types), handler, concurrency=4))

    async def __aenter__(self) -> "Consumer":
        return self

    async def __aexit__(self, *_: object) -> None:
        self._task.cancel()
        (result,) = await asyncio.gather(self._task, return_exceptions=True)
        assert isinstance(result, asyncio.CancelledError), f"consume() ended: {result!r}"


async def committed(bus: KafkaEventBus, group: str, partition: TopicPartition) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bus.options.bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(f"{group}{bus.options.group_suffix}")
    finally:
        await admin.close()
    found = offsets.get(partition)
    return None if found is None or found.offset < 0 else int(found.offset)


async def test_a_slow_handler_does_not_hold_up_the_next_records(bus: KafkaEventBus) -> None:
    token = uuid.uuid4().hex[:12]
    slow = f"ex_{token}_slow"
    others = [f"ex_{token}_{n}" for n in range(10)]  # more than the window: slots are reused
    slow_started, release = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def handler(event: Event) -> None:
        if token not in event.execution_id:
            return
        if event.execution_id == slow:
            slow_started.set()
            await release.wait()
        handled.append(event.execution_id)

    async with Consumer(bus, f"slow-{token}", handler):
        await bus.publish(started(slow))
        await asyncio.wait_for(slow_started.wait(), WAIT)  # fetched alone, then the rest
        for execution_id in others:
            await bus.publish(started(execution_id))

        await eventually(lambda: set(others) <= set(handled), what="the records after the slow one")
        assert slow not in handled
        release.set()
        await eventually(lambda: slow in handled, what="the slow record once released")


async def test_the_commit_never_passes_an_unhandled_record(bus: KafkaEventBus) -> None:
    token = uuid.uuid4().hex[:12]
    group = f"commit-{token}"
    ids = [f"ex_{token}_{n}" for n in range(10)]  # ten keys, one partition
    stuck = ids[3]
    offsets = await publish_to_partition_0(bus, [started(execution_id) for execution_id in ids])
    partition = TopicPartition(bus.topic, 0)
    first: list[str] = []

    async def stuck_on_3(event: Event) -> None:
        if token in event.execution_id:
            if event.execution_id == stuck:
                await asyncio.Event().wait()  # never handled: cancelled with the consumer
            first.append(event.execution_id)

    async with Consumer(bus, group, stuck_on_3):
        await eventually(lambda: set(first) == set(ids) - {stuck}, what="all but the stuck one")

        # Handled 0..2 get committed, up to the stuck one.
        async def up_to_the_stuck_one() -> bool:
            return await committed(bus, group, partition) == offsets[3]

        await eventually(
            up_to_the_stuck_one, timeout=WAIT, interval=0.1, what="commits up to the stuck one"
        )
    assert await committed(bus, group, partition) == offsets[3], "not past it, even on cancel"

    second: list[str] = []

    async def record(event: Event) -> None:
        if token in event.execution_id:
            second.append(event.execution_id)

    async with Consumer(bus, group, record):
        await eventually(lambda: set(second) >= set(ids[3:]), what="redelivery from the stuck one")
    assert second[0] == stuck
    assert not set(second) & set(ids[:3]), "committed records are not redelivered"


async def test_one_keys_records_wait_for_each_other_while_other_keys_flow(
    bus: KafkaEventBus,
) -> None:
    token = uuid.uuid4().hex[:12]
    first_key, other_key = f"ex_{token}_a", f"ex_{token}_b"
    first_started, release = asyncio.Event(), asyncio.Event()
    handled: list[tuple[str, str]] = []

    async def handler(event: Event) -> None:
        if token not in event.execution_id or not isinstance(event, ExecutionStarted):
            return
        if (event.execution_id, event.runner) == (first_key, "0"):
            first_started.set()
            await release.wait()
        handled.append((event.execution_id, event.runner))

    # One partition, in this order: a0 (slow) a1 a2 b0 b1 b2. With a window of 4, a1 and a2 wait
    # behind a0 in their slots while b's records go through the fourth.
    events = [started(key, str(n)) for key in (first_key, other_key) for n in range(3)]
    async with Consumer(bus, f"keys-{token}", handler):
        await publish_to_partition_0(bus, events)
        await asyncio.wait_for(first_started.wait(), WAIT)
        await eventually(
            lambda: (
                [h for h in handled if h[0] == other_key]
                == [(other_key, "0"), (other_key, "1"), (other_key, "2")]
            ),
            what="the other key's records",
        )
        assert not [h for h in handled if h[0] == first_key], "a1, a2 waited for a0"
        release.set()
        await eventually(lambda: len(handled) == 6, what="the first key's records")
    assert [h for h in handled if h[0] == first_key] == [(first_key, str(n)) for n in range(3)]


async def test_records_of_unwanted_types_are_skipped_and_committed(bus: KafkaEventBus) -> None:
    token = uuid.uuid4().hex[:12]
    execution_id = f"ex_{token}"
    group = f"skip-{token}"
    handled: list[Event] = []

    async def handler(event: Event) -> None:
        if token in event.execution_id:
            handled.append(event)

    finished = ExecutionFinished(
        execution_id=execution_id, result=Result(end_reason=EndReason.COMPLETED)
    )
    wanted = started(execution_id)
    partition = TopicPartition(bus.topic, 0)
    async with Consumer(bus, group, handler):
        offsets = await publish_to_partition_0(
            bus, [CancelRequested(execution_id=execution_id), finished]
        )
        # Without the header the record is decoded to learn its type: still skipped if unwanted.
        offsets += await publish_to_partition_0(bus, [finished, wanted], type_header=False)

        async def all_committed() -> bool:
            position = await committed(bus, group, partition)
            return position is not None and position > offsets[-1]

        await eventually(all_committed, what="the commit past every record")
    assert handled == [wanted]


async def test_a_stopping_consumer_commits_what_it_handled_within_the_commit_interval() -> None:
    # An interval far longer than the test: only the stopping consumer's last commit can commit.
    async with started_bus(fast_options(commit_interval_seconds=3600)) as slow_bus:
        token = uuid.uuid4().hex[:12]
        group = f"final-{token}"
        ids = [f"ex_{token}_{n}" for n in range(5)]
        handled: list[str] = []

        async def record(event: Event) -> None:
            if token in event.execution_id:
                handled.append(event.execution_id)

        async with Consumer(slow_bus, group, record):
            offsets = await publish_to_partition_0(slow_bus, [started(i) for i in ids])
            await eventually(lambda: sorted(handled) == ids, what="every record handled")
        partition = TopicPartition(slow_bus.topic, 0)
        assert await committed(slow_bus, group, partition) == offsets[-1] + 1

        handled.clear()
        async with Consumer(slow_bus, group, record):
            await publish_to_partition_0(slow_bus, [started(f"ex_{token}_after")])
            await eventually(lambda: handled == [f"ex_{token}_after"], what="the next record")
        assert handled == [f"ex_{token}_after"], "handled records are not delivered again"
