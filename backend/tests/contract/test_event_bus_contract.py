"""The EventBus contract: one test body per behaviour, run on the in-process bus and on Kafka.

Kafka runs against the real broker and Schema Registry (make services-up); every xdist worker has
its own topics, groups and subjects, and every test its own group names and execution ids, so
events left on the shared topics by earlier tests are recognised and ignored.
"""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from sandpod.adapters.kafka import KafkaEventBus
from sandpod.adapters.memory.event_bus import InMemoryEventBus
from sandpod.domain.events import CancelRequested, Event, EventType, ExecutionStarted
from sandpod.ports import EventBus, EventHandler, ServiceUnavailableError
from tests.kafka_support import fast_options, read_dead_letters, started_bus
from tests.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")

MAX_ATTEMPTS = 3  # both buses are built with this


@dataclass
class Harness:
    bus: EventBus
    dead_letters: Callable[[set[str]], Awaitable[dict[str, str]]]  # execution id -> reason


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_bus() -> AsyncIterator[KafkaEventBus]:
    async with started_bus(fast_options(max_attempts=MAX_ATTEMPTS)) as bus:
        yield bus


def memory_harness() -> Harness:
    # The delays of fast_options(): Kafka's retry_base_seconds and reconnect_max_seconds.
    bus = InMemoryEventBus(
        max_attempts=MAX_ATTEMPTS, retry_delay_seconds=0.01, max_retry_delay_seconds=0.5
    )

    async def dead_letters(ids: set[str]) -> dict[str, str]:
        await eventually(
            lambda: {d.event.execution_id for d in bus.dead_letters} >= ids, what="dead letters"
        )
        return {d.event.execution_id: d.reason for d in bus.dead_letters}

    return Harness(bus, dead_letters)


def kafka_harness(bus: KafkaEventBus) -> Harness:
    async def dead_letters(ids: set[str]) -> dict[str, str]:
        found = await read_dead_letters(
            bus.options, lambda letter: letter.key in ids, expect=len(ids)
        )
        return {letter.key: letter.headers["error"] for letter in found}

    return Harness(bus, dead_letters)


@pytest.fixture(params=["memory", "kafka"])
def harness(request: pytest.FixtureRequest) -> Harness:
    if request.param == "memory":
        return memory_harness()
    return kafka_harness(request.getfixturevalue("kafka_bus"))


class Consumers:
    """consume() tasks started by a test; cancelled (and checked for crashes) at teardown."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    async def start(
        self,
        bus: EventBus,
        group: str,
        types: Sequence[EventType],
        handler: EventHandler,
        **options: Any,
    ) -> None:
        self.tasks.append(asyncio.create_task(bus.consume(group, types, handler, **options)))
        # One loop step: the in-memory bus joins its group in it; Kafka work groups read from the
        # earliest offset and broadcast consumers are warmed up, so nothing published is missed.
        await asyncio.sleep(0)

    async def stop(self) -> None:
        """Cancel every consume() and wait for it to end: after this no handler runs."""
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        crashed = [r for r in results if not isinstance(r, asyncio.CancelledError)]
        assert not crashed, f"consume() ended on its own: {crashed}"


@pytest_asyncio.fixture(loop_scope="session")
async def consumers() -> AsyncIterator[Consumers]:
    running = Consumers()
    yield running
    await running.stop()


class Recorder:
    """A handler that records this test's events (by the token in their ids), ignoring others."""

    def __init__(self, token: str, *, work_seconds: float = 0) -> None:
        self.token = token
        self.work_seconds = work_seconds
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        if self.token in event.execution_id:
            # Recorded on arrival, so a delivery still in flight when the consumers stop counts.
            self.events.append(event)
            await asyncio.sleep(self.work_seconds)  # the work itself: yield like real handlers

    def counts(self, prefix: str = "ex_") -> Counter[str]:
        return Counter(e.execution_id for e in self.events if e.execution_id.startswith(prefix))

    def saw_warm_up(self) -> bool:
        return bool(self.counts("warm_"))


def new_token() -> str:
    return uuid.uuid4().hex[:12]


def started(execution_id: str, runner: str = "r") -> ExecutionStarted:
    return ExecutionStarted(execution_id=execution_id, runner=runner)


async def warm_up(bus: EventBus, token: str, event_type: EventType, *recorders: Recorder) -> None:
    """Publish throwaway events until every consumer got one: all have joined their groups."""

    def make(i: int) -> Event:
        execution_id = f"warm_{token}_{i}"
        if event_type is EventType.CANCEL_REQUESTED:
            return CancelRequested(execution_id=execution_id)
        return started(execution_id)

    async def keep_publishing() -> None:
        for i in range(10_000):
            await bus.publish(make(i))
            await asyncio.sleep(0.1)  # publishing pace while waiting below for every consumer

    publisher = asyncio.create_task(keep_publishing())
    try:
        await eventually(lambda: all(r.saw_warm_up() for r in recorders), what="consumers to join")
    finally:
        publisher.cancel()
        await asyncio.gather(publisher, return_exceptions=True)


async def test_published_events_are_delivered(harness: Harness, consumers: Consumers) -> None:
    bus, token = harness.bus, new_token()
    first, second = f"ex_{token}_1", f"ex_{token}_2"
    recorder = Recorder(token)

    await bus.publish(started(first))  # before anyone consumes: kept for the group
    await consumers.start(bus, f"deliver-{token}", [EventType.STARTED], recorder)
    await bus.publish(started(second))

    await eventually(lambda: recorder.counts().keys() == {first, second}, what="both events")
    assert all(isinstance(e, ExecutionStarted) and e.runner == "r" for e in recorder.events)


async def test_every_group_gets_every_event_once(harness: Harness, consumers: Consumers) -> None:
    bus, token = harness.bus, new_token()
    types = [EventType.STARTED, EventType.CANCEL_REQUESTED]
    groups = [Recorder(token), Recorder(token)]
    for name, recorder in zip("ab", groups, strict=True):
        await consumers.start(bus, f"groups-{token}-{name}", types, recorder, concurrency=2)
    ids = [f"ex_{token}_{i}" for i in range(10)]

    for i, execution_id in enumerate(ids):
        await bus.publish(
            started(execution_id) if i % 2 else CancelRequested(execution_id=execution_id)
        )

    await eventually(lambda: all(r.counts().keys() == set(ids) for r in groups), what="all events")
    await consumers.stop()  # no handler runs after this: the counts below are final
    for recorder in groups:
        assert recorder.counts() == Counter(ids)


async def test_consumers_of_one_group_share_the_work(
    harness: Harness, consumers: Consumers
) -> None:
    bus, token = harness.bus, new_token()
    members = [Recorder(token, work_seconds=0.005), Recorder(token, work_seconds=0.005)]
    for member in members:
        await consumers.start(bus, f"share-{token}", [EventType.STARTED], member)
    await warm_up(bus, token, EventType.STARTED, *members)
    ids = [f"ex_{token}_{i}" for i in range(30)]

    for execution_id in ids:
        await bus.publish(started(execution_id))

    await eventually(
        lambda: (members[0].counts() + members[1].counts()).keys() == set(ids), what="all events"
    )
    await consumers.stop()  # no handler runs after this: the counts below are final
    first, second = (member.counts() for member in members)
    assert first + second == Counter(ids), "every event handled exactly once"
    assert not first.keys() & second.keys(), "no event handled by both"
    assert first, "both members got work"
    assert second, "both members got work"


async def test_a_failing_handler_is_retried(harness: Harness, consumers: Consumers) -> None:
    bus, token = harness.bus, new_token()
    execution_id = f"ex_{token}_flaky"
    attempts: Counter[str] = Counter()
    handled: list[str] = []

    async def flaky(event: Event) -> None:
        if event.execution_id != execution_id:
            return
        attempts[event.execution_id] += 1
        if attempts[event.execution_id] < MAX_ATTEMPTS:
            raise RuntimeError("not yet")
        handled.append(event.execution_id)

    await consumers.start(bus, f"retry-{token}", [EventType.STARTED], flaky)
    await bus.publish(started(execution_id))

    await eventually(lambda: handled == [execution_id], what="the retried event")
    assert attempts[execution_id] == MAX_ATTEMPTS


async def test_a_handler_that_keeps_failing_dead_letters_and_the_consumer_goes_on(
    harness: Harness, consumers: Consumers
) -> None:
    bus, token = harness.bus, new_token()
    poison, good = f"ex_{token}_poison", f"ex_{token}_good"
    calls: Counter[str] = Counter()

    async def handler(event: Event) -> None:
        calls[event.execution_id] += 1
        if event.execution_id == poison:
            raise RuntimeError(f"cannot handle {poison}")

    await consumers.start(bus, f"dead-{token}", [EventType.STARTED], handler)
    await bus.publish(started(poison))
    await bus.publish(started(good))

    dead = await harness.dead_letters({poison})
    assert f"RuntimeError: cannot handle {poison}" in dead[poison]
    await eventually(lambda: calls[good] == 1, what="the next event")
    assert calls[poison] == MAX_ATTEMPTS


async def test_an_outage_is_waited_out_without_spending_attempts(
    harness: Harness, consumers: Consumers
) -> None:
    # A handler whose database is down: the event is fine, so it is retried until the outage
    # ends (here: longer than MAX_ATTEMPTS tries) and never dead-lettered. Ordinary failures
    # after it still get their MAX_ATTEMPTS.
    bus, token = harness.bus, new_token()
    execution_id = f"ex_{token}_outage"
    outages, failures = 2 * MAX_ATTEMPTS, MAX_ATTEMPTS - 1
    calls: Counter[str] = Counter()
    handled: list[str] = []

    async def handler(event: Event) -> None:
        if event.execution_id != execution_id:
            return
        calls[execution_id] += 1
        if calls[execution_id] <= outages:
            raise ServiceUnavailableError("MongoDB at 127.0.0.1:9 is unavailable: test outage")
        if calls[execution_id] <= outages + failures:
            raise RuntimeError("a real failure")
        handled.append(execution_id)

    await consumers.start(bus, f"outage-{token}", [EventType.STARTED], handler)
    await bus.publish(started(execution_id))

    # Handled (not dead-lettered: either bus stops delivering an event once it dead-letters it).
    await eventually(lambda: handled == [execution_id], what="the event after the outage")
    await consumers.stop()  # no handler runs after this: the count below is final
    assert calls[execution_id] == outages + failures + 1


async def test_broadcast_consumers_each_see_every_event(
    harness: Harness, consumers: Consumers
) -> None:
    bus, token = harness.bus, new_token()
    listeners = [Recorder(token), Recorder(token)]
    for listener in listeners:
        await consumers.start(
            bus, f"cancel-{token}", [EventType.CANCEL_REQUESTED], listener, broadcast=True
        )
    await warm_up(bus, token, EventType.CANCEL_REQUESTED, *listeners)
    ids = [f"ex_{token}_{i}" for i in range(5)]

    for execution_id in ids:
        await bus.publish(CancelRequested(execution_id=execution_id))

    await eventually(
        lambda: all(r.counts().keys() == set(ids) for r in listeners), what="all cancels"
    )
    await consumers.stop()  # no handler runs after this: the counts below are final
    for listener in listeners:
        assert listener.counts() == Counter(ids)


async def test_events_of_one_execution_arrive_in_order(
    harness: Harness, consumers: Consumers
) -> None:
    bus, token = harness.bus, new_token()
    execution_id = f"ex_{token}_ordered"
    recorder = Recorder(token)
    runners = [f"runner-{i:02d}" for i in range(20)]

    await consumers.start(bus, f"order-{token}", [EventType.STARTED], recorder)
    for runner in runners:
        await bus.publish(started(execution_id, runner))

    await eventually(lambda: len(recorder.events) == len(runners), what="all events")
    assert [e.runner for e in recorder.events if isinstance(e, ExecutionStarted)] == runners


async def test_one_executions_events_keep_their_order_while_handlers_run_concurrently(
    harness: Harness, consumers: Consumers
) -> None:
    # Each execution's first event takes longest to handle: a bus that lets a later event of the
    # same execution overtake it (a free handler slot taking it) finishes them out of order.
    bus, token = harness.bus, new_token()
    ids = [f"ex_{token}_{i}" for i in range(6)]
    steps = [f"step-{i}" for i in range(4)]
    finished: dict[str, list[str]] = {execution_id: [] for execution_id in ids}

    async def handler(event: Event) -> None:
        if token not in event.execution_id or not isinstance(event, ExecutionStarted):
            return
        await asyncio.sleep(0.005 * (len(steps) - steps.index(event.runner)))  # the work
        finished[event.execution_id].append(event.runner)

    await consumers.start(bus, f"keyed-{token}", [EventType.STARTED], handler, concurrency=8)
    for step in steps:
        for execution_id in ids:
            await bus.publish(started(execution_id, step))

    await eventually(
        lambda: all(len(done) == len(steps) for done in finished.values()), what="all events"
    )
    assert finished == {execution_id: steps for execution_id in ids}
