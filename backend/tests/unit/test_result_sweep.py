"""The timeout sweep: overdue executions fail with a clear reason; a queued one whose request never
reached the bus (the outbox flag is unset) gets it published once, never one that is merely
waiting in a backlog, and never in embedded mode; a runner starts a resent request only while its
execution is still queued."""

from datetime import UTC, datetime, timedelta

import pytest

from sandpod.adapters.memory.event_bus import InMemoryEventBus
from sandpod.adapters.memory.idempotency import InMemoryIdempotencyKeys
from sandpod.adapters.memory.live_updates import InMemoryLiveUpdates
from sandpod.adapters.memory.output_files import InMemoryOutputFiles
from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.composition.embedded import build_embedded
from sandpod.config import Settings
from sandpod.domain.events import Event, ExecutionRequested, ExecutionStarted
from sandpod.domain.execution import Execution, ExecutionSpec
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.principals import Principal
from sandpod.domain.result import EndReason
from sandpod.domain.runtimes import RuntimeRegistry
from sandpod.domain.status import ExecutionStatus
from sandpod.domain.submission import SubmissionCaps
from sandpod.ports import SandboxJob, ServiceUnavailableError
from sandpod.services import results
from sandpod.services.executions import ExecutionService, InputCaps, SubmitCommand
from sandpod.services.results import ResultProcessor, SweepOutcome
from sandpod.services.runner import RunnerService
from tests.fakes import FakeSandbox, RecordingBus

START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
GRACE = 60.0
REPUBLISH_AFTER = 20.0
QUEUE_TIMEOUT = 300.0  # deadline of a queued one: created + QUEUE_TIMEOUT
WALL = DEFAULT_POLICY.defaults.wall_seconds  # of a running one: started + WALL + GRACE


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(results, "utcnow", fake)
    return fake


def execution(created_at: datetime = START) -> Execution:
    spec = ExecutionSpec(
        runtime="python:3.12", script="print(1)", stdin="in", limits=DEFAULT_POLICY.defaults
    )
    return Execution(owner="alice", spec=spec, created_at=created_at)


def processor(
    store: InMemoryExecutionStore, bus: RecordingBus, republish_after: float = REPUBLISH_AFTER
) -> ResultProcessor:
    return ResultProcessor(
        store=store,
        live=InMemoryLiveUpdates(),
        bus=bus,
        sweep_grace_seconds=GRACE,
        queue_timeout_seconds=QUEUE_TIMEOUT,
        republish_after_seconds=republish_after,
    )


def resent_ids(bus: RecordingBus) -> list[str]:
    return [e.execution_id for e in bus.published if isinstance(e, ExecutionRequested)]


async def test_a_queued_execution_whose_request_never_reached_the_bus_gets_it(
    clock: Clock,
) -> None:
    store, bus = InMemoryExecutionStore(), RecordingBus()
    sweeper = processor(store, bus)
    item = execution()
    await store.add(item)  # stored; its publish was lost

    clock.advance(REPUBLISH_AFTER - 1)
    assert (await sweeper.sweep()).republished == []  # young: its publish may be in flight

    clock.advance(2)
    outcome = await sweeper.sweep()
    assert outcome.republished == [item.id]
    assert outcome.failed == []
    [request] = bus.published
    assert isinstance(request, ExecutionRequested)
    assert (request.execution_id, request.resent) == (item.id, True)


async def test_past_its_deadline_it_is_failed_not_resent(clock: Clock) -> None:
    store, bus = InMemoryExecutionStore(), RecordingBus()
    item = execution()
    await store.add(item)

    clock.advance(QUEUE_TIMEOUT)
    outcome = await processor(store, bus).sweep()

    assert outcome.failed == [item.id]
    assert outcome.republished == []
    assert bus.published == []
    stored = await store.get(item.id)
    assert stored is not None
    assert stored.status is ExecutionStatus.ERRORED
    assert stored.result is not None
    assert stored.result.end_reason is EndReason.PLATFORM_ERROR
    assert "no runner started this execution within 300 s" in (stored.result.message or "")
    assert "it was queued when the timeout sweep failed it" in (stored.result.message or "")


async def test_a_backlog_longer_than_the_wall_limit_is_no_fault_a_stuck_run_is(
    clock: Clock,
) -> None:
    # Before, a queued one's deadline was its submission plus the wall limit plus the grace, so
    # a burst larger than the runners drain in 70 s had its tail errored without ever running.
    store, bus = InMemoryExecutionStore(), RecordingBus()
    waiting, stuck = execution(), execution()
    for item in (waiting, stuck):
        await store.add(item)
    started = START + timedelta(seconds=5)
    await store.transition(stuck.id, ExecutionStatus.RUNNING, at=started)

    clock.now = started + timedelta(seconds=WALL + GRACE)
    outcome = await processor(store, bus).sweep()

    assert outcome.failed == [stuck.id]
    stored = await store.get(stuck.id)
    assert stored is not None
    assert stored.result is not None
    assert "no worker finished this execution within 60 s of its" in (stored.result.message or "")
    assert "it was running when" in (stored.result.message or "")
    still = await store.get(waiting.id)
    assert still is not None
    assert still.status is ExecutionStatus.QUEUED


class PodSandbox(FakeSandbox):
    """Like the Kubernetes launcher: run() creates the pod and returns; the pod monitor reports
    the container's start (`started`) and the end."""

    name = "kubernetes"
    reports_start = True

    # None, not a Result: a pod sandbox only starts the job, its monitor reports the end.
    async def run(self, job: SandboxJob) -> None:  # type: ignore[override]
        self.started.append(job.execution_id)


async def test_a_pending_pod_is_under_the_queue_timeout_its_wall_limit_counts_from_its_start(
    clock: Clock,
) -> None:
    # Before, the runner's `started` (published before it created the pod) was the start: a pod
    # Pending behind a backlog longer than wall limit + grace was errored before it ever ran.
    store, bus, sandbox = InMemoryExecutionStore(), RecordingBus(), PodSandbox()
    sweeper = processor(store, bus)
    runner = RunnerService(
        store=store,
        bus=bus,
        sandbox=sandbox,
        runtimes=RuntimeRegistry(sandbox.runtimes()),
        files=InMemoryOutputFiles(),
    )
    pending, stuck = execution(), execution()
    for item in (pending, stuck):
        await store.add(item)
        await store.mark_published(item.id)
        await runner.handle(ExecutionRequested(execution_id=item.id))
    assert sandbox.started == [pending.id, stuck.id]  # both pods created
    for event in bus.published:  # what the result processor consumes
        await sweeper.handle(event)

    clock.now = START + timedelta(seconds=WALL + GRACE + 60)  # both pods still Pending
    assert (await sweeper.sweep()).failed == []
    for item in (pending, stuck):
        still = await store.get(item.id)
        assert still is not None
        assert (still.status, still.started_at) == (ExecutionStatus.QUEUED, None)

    # The pod monitor sees the container run: `started` carries the container's start time.
    container_start = START + timedelta(seconds=QUEUE_TIMEOUT - 20)
    clock.now = container_start + timedelta(seconds=2)
    await sweeper.handle(
        ExecutionStarted(execution_id=pending.id, runner="kubernetes", occurred_at=container_start)
    )
    ran = await store.get(pending.id)
    assert ran is not None
    assert (ran.status, ran.started_at) == (ExecutionStatus.RUNNING, container_start)

    clock.now = START + timedelta(seconds=QUEUE_TIMEOUT)  # the other pod never left Pending
    assert (await sweeper.sweep()).failed == [stuck.id]
    never = await store.get(stuck.id)
    assert never is not None
    assert never.result is not None
    assert "no runner started this execution within 300 s" in (never.result.message or "")
    assert "or its pod never started running" in (never.result.message or "")
    clock.now = container_start + timedelta(seconds=WALL + GRACE - 1)
    assert (await sweeper.sweep()).failed == []
    clock.now = container_start + timedelta(seconds=WALL + GRACE)
    assert (await sweeper.sweep()).failed == [pending.id]  # a run stuck past its own deadline


async def test_a_started_time_ahead_of_the_result_processors_clock_counts_as_now(
    clock: Clock,
) -> None:
    store, bus = InMemoryExecutionStore(), RecordingBus()
    item = execution()
    await store.add(item)
    clock.now = START + timedelta(seconds=3)
    ahead = START + timedelta(hours=1)  # a node whose clock runs ahead
    sweeper = processor(store, bus)
    await sweeper.handle(
        ExecutionStarted(execution_id=item.id, runner="kubernetes", occurred_at=ahead)
    )
    stored = await store.get(item.id)
    assert stored is not None
    assert stored.started_at == clock.now  # the deadline is not pushed out by an hour


async def test_started_or_finished_executions_are_never_resent(clock: Clock) -> None:
    store, bus = InMemoryExecutionStore(), RecordingBus()
    running, done = execution(), execution()
    for item in (running, done):
        await store.add(item)
    await store.transition(running.id, ExecutionStatus.RUNNING, at=START)
    await store.transition(done.id, ExecutionStatus.RUNNING, at=START)
    await store.transition(done.id, ExecutionStatus.COMPLETED, at=START)

    clock.advance(REPUBLISH_AFTER * 2)
    outcome = await processor(store, bus).sweep()

    assert outcome == SweepOutcome()
    assert bus.published == []


async def test_while_the_bus_is_down_it_tries_once_and_still_fails_overdue_ones(
    clock: Clock,
) -> None:
    store, bus = InMemoryExecutionStore(), RecordingBus()
    sweeper = processor(store, bus)
    overdue = execution()
    stale = [
        execution(START + timedelta(seconds=QUEUE_TIMEOUT - REPUBLISH_AFTER - 1)) for _ in range(3)
    ]
    for item in (overdue, *stale):
        await store.add(item)
    bus.down = True

    clock.advance(QUEUE_TIMEOUT)
    outcome = await sweeper.sweep()

    assert outcome.failed == [overdue.id]
    assert outcome.republished == []
    assert bus.attempts == 1, "one failed publish is enough to know the bus is down"

    bus.down = False
    outcome = await sweeper.sweep()  # the next sweep, once the bus is back
    assert sorted(outcome.republished) == sorted(item.id for item in stale)


async def test_zero_turns_republishing_off(clock: Clock) -> None:
    store, bus = InMemoryExecutionStore(), RecordingBus()
    await store.add(execution())
    clock.advance(QUEUE_TIMEOUT - 1)
    assert await processor(store, bus, republish_after=0).sweep() == SweepOutcome()
    assert bus.attempts == 0


async def test_a_submit_whose_request_was_lost_still_runs_once(clock: Clock) -> None:
    store, bus, sandbox = InMemoryExecutionStore(), RecordingBus(), FakeSandbox()
    service = ExecutionService(
        store=store,
        bus=bus,
        live=InMemoryLiveUpdates(),
        idempotency=InMemoryIdempotencyKeys(),
        runtimes=RuntimeRegistry(sandbox.runtimes()),
        limits=DEFAULT_POLICY,
        caps=InputCaps(
            max_script_bytes=1000,
            max_stdin_bytes=1000,
            program=SubmissionCaps(max_files=4, max_files_bytes=1000, max_args=4),
        ),
        idempotency_ttl_seconds=60,
    )
    bus.down = True
    with pytest.raises(ServiceUnavailableError) as refused:
        await service.submit(Principal("alice"), SubmitCommand("python:3.12", "print(1)"), "k1")
    detail = str(refused.value)
    assert "was stored but could not be queued" in detail
    assert "same Idempotency-Key returns it" in detail
    [stored] = (await store.list(owner="alice", status=None, after=None, limit=10)).items
    assert stored.id in detail
    assert stored.status is ExecutionStatus.QUEUED

    # The retry with the key gets the stored execution back; the sweep resends its request.
    bus.down = False
    replayed, created = await service.submit(
        Principal("alice"), SubmitCommand("python:3.12", "print(1)"), "k1"
    )
    assert (replayed.id, created) == (stored.id, False)
    clock.now = stored.created_at + timedelta(seconds=REPUBLISH_AFTER + 1)
    assert (await processor(store, bus).sweep()).republished == [stored.id]
    [resent] = bus.published
    assert isinstance(resent, ExecutionRequested)

    runner = RunnerService(
        store=store,
        bus=bus,
        sandbox=sandbox,
        runtimes=RuntimeRegistry(sandbox.runtimes()),
        files=InMemoryOutputFiles(),
    )
    await runner.handle(resent)
    assert sandbox.started == [stored.id]


async def test_a_runner_starts_a_resent_request_only_while_queued() -> None:
    store, bus, sandbox = InMemoryExecutionStore(), InMemoryEventBus(), FakeSandbox()
    runner = RunnerService(
        store=store,
        bus=bus,
        sandbox=sandbox,
        runtimes=RuntimeRegistry(sandbox.runtimes()),
        files=InMemoryOutputFiles(),
    )
    queued, running = execution(), execution()
    for item in (queued, running):
        await store.add(item)
    await store.transition(running.id, ExecutionStatus.RUNNING, at=START)

    await runner.handle(ExecutionRequested(execution_id=running.id, resent=True))
    assert sandbox.started == [], "a resent copy never starts an execution a second time"

    await runner.handle(ExecutionRequested(execution_id=queued.id, resent=True))
    assert sandbox.started == [queued.id]

    # A redelivered original (its runner died) still re-runs a running execution.
    await runner.handle(ExecutionRequested(execution_id=running.id))
    assert sandbox.started == [queued.id, running.id]


def submitting_service(store: InMemoryExecutionStore, bus: RecordingBus) -> ExecutionService:
    return ExecutionService(
        store=store,
        bus=bus,
        live=InMemoryLiveUpdates(),
        idempotency=InMemoryIdempotencyKeys(),
        runtimes=RuntimeRegistry(FakeSandbox().runtimes()),
        limits=DEFAULT_POLICY,
        caps=InputCaps(
            max_script_bytes=1000,
            max_stdin_bytes=1000,
            program=SubmissionCaps(max_files=4, max_files_bytes=1000, max_args=4),
        ),
        idempotency_ttl_seconds=60,
    )


async def test_a_queued_execution_whose_request_was_published_is_never_resent(
    clock: Clock,
) -> None:
    # An ordinary backlog: the request is on the bus, no runner got to it yet.
    store, bus = InMemoryExecutionStore(), RecordingBus()
    submitted, _ = await submitting_service(store, bus).submit(
        Principal("alice"), SubmitCommand("python:3.12", "print(1)")
    )
    bus.published.clear()

    clock.now = submitted.created_at + timedelta(seconds=QUEUE_TIMEOUT - REPUBLISH_AFTER)
    sweeper = processor(store, bus)
    for _ in range(3):
        assert (await sweeper.sweep()).republished == []
        clock.advance(REPUBLISH_AFTER / 4)
    assert bus.published == []


async def test_a_resent_request_is_not_resent_again_once_it_reached_the_bus(clock: Clock) -> None:
    store, bus = InMemoryExecutionStore(), RecordingBus()
    item = execution()
    await store.add(item)  # stored, its publish lost
    sweeper = processor(store, bus)

    clock.advance(REPUBLISH_AFTER + 1)
    assert (await sweeper.sweep()).republished == [item.id]
    clock.advance(REPUBLISH_AFTER + 1)
    assert (await sweeper.sweep()).republished == []
    assert resent_ids(bus) == [item.id]


async def test_the_embedded_sweep_never_republishes(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In one process a publish cannot be lost, so there is nothing to republish. Were one to
    # fail anyway, the sweep would still leave it alone (and fail it past its deadline).
    settings = Settings()
    embedded = build_embedded(settings, FakeSandbox())

    async def refused(event: Event) -> None:
        raise ServiceUnavailableError("test: the publish fails")

    publish = embedded.bus.publish
    monkeypatch.setattr(embedded.bus, "publish", refused)
    with pytest.raises(ServiceUnavailableError):
        await embedded.state.executions.submit(
            Principal("alice"), SubmitCommand("python:3.12", "print(1)")
        )
    monkeypatch.setattr(embedded.bus, "publish", publish)

    [stored] = (await embedded.state.executions.list(Principal("alice"))).items
    assert stored.status is ExecutionStatus.QUEUED

    clock.now = stored.created_at + timedelta(seconds=settings.workers.republish_after_seconds + 1)
    assert settings.workers.republish_after_seconds + 1 < settings.workers.queue_timeout_seconds
    assert await embedded.results.sweep() == SweepOutcome()
