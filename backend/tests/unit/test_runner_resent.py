"""A request sent again (by the sweep, or redelivered by the bus) never starts an execution
that is already running a second time."""

import asyncio

import pytest

from sandpod.adapters.memory.output_files import InMemoryOutputFiles
from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.domain.events import Event, ExecutionFinished, ExecutionRequested
from sandpod.domain.execution import Execution, ExecutionSpec
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.runtimes import RuntimeRegistry
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import ServiceUnavailableError
from sandpod.services.runner import RunnerService
from tests.fakes import FakeSandbox, RecordingBus


def runner_over(
    store: InMemoryExecutionStore, sandbox: FakeSandbox, bus: RecordingBus | None = None
) -> RunnerService:
    return RunnerService(
        store=store,
        bus=bus or RecordingBus(),
        sandbox=sandbox,
        runtimes=RuntimeRegistry(sandbox.runtimes()),
        files=InMemoryOutputFiles(),
    )


async def stored(store: InMemoryExecutionStore, script: str = "print(1)") -> Execution:
    spec = ExecutionSpec(runtime="python:3.12", script=script, limits=DEFAULT_POLICY.defaults)
    execution = Execution(owner="alice", spec=spec)
    await store.add(execution)
    return execution


async def test_a_resent_request_is_skipped_while_the_stored_status_still_lags() -> None:
    # Seen in the soak: the API died after publishing but before the outbox flag, the sweep sent
    # the request again, and the copy found the execution still `queued` (the result processor
    # had not applied `started` yet), so the script ran to its end twice.
    store, sandbox = InMemoryExecutionStore(), FakeSandbox()
    execution = await stored(store)
    runner = runner_over(store, sandbox)

    await runner.handle(ExecutionRequested(execution_id=execution.id))
    stored_now = await store.get(execution.id)
    assert stored_now is not None
    assert stored_now.status is ExecutionStatus.QUEUED
    await runner.handle(ExecutionRequested(execution_id=execution.id, resent=True))

    assert sandbox.started == [execution.id]


async def test_a_resent_request_whose_first_never_arrived_runs_once() -> None:
    store, sandbox = InMemoryExecutionStore(), FakeSandbox()
    execution = await stored(store)

    await runner_over(store, sandbox).handle(
        ExecutionRequested(execution_id=execution.id, resent=True)
    )

    assert sandbox.started == [execution.id]


async def test_a_redelivered_request_runs_again_after_a_runner_died() -> None:
    # Not resent: the first runner took it and died before reporting; it must run again.
    store, sandbox = InMemoryExecutionStore(), FakeSandbox()
    execution = await stored(store)
    await store.claim_start(execution.id)  # the dead runner's start

    await runner_over(store, sandbox).handle(ExecutionRequested(execution_id=execution.id))

    assert sandbox.started == [execution.id]


async def test_a_request_delivered_again_while_it_runs_here_is_skipped() -> None:
    # Seen in CI: under load the bus delivered a request again while this runner still ran
    # it; the copy ended the execution as `errored` ("already running here") before the run did.
    store, sandbox = InMemoryExecutionStore(), FakeSandbox()
    execution = await stored(store, script="# block")
    bus = RecordingBus()
    runner = runner_over(store, sandbox, bus)
    first = asyncio.create_task(runner.handle(ExecutionRequested(execution_id=execution.id)))
    while not sandbox.started:
        await asyncio.sleep(0)  # let the first copy reach the sandbox (no time passes)

    await runner.handle(ExecutionRequested(execution_id=execution.id))
    await sandbox.cancel(execution.id)
    await first

    assert sandbox.started == [execution.id]
    finished = [event for event in bus.published if isinstance(event, ExecutionFinished)]
    assert [event.execution_id for event in finished] == [execution.id]


async def test_a_request_delivered_again_after_it_ended_here_is_skipped() -> None:
    # The stored status still says `queued`: the result processor has not applied the end yet.
    store, sandbox = InMemoryExecutionStore(), FakeSandbox()
    execution = await stored(store)
    runner = runner_over(store, sandbox)

    await runner.handle(ExecutionRequested(execution_id=execution.id))
    await runner.handle(ExecutionRequested(execution_id=execution.id))

    assert sandbox.started == [execution.id]


async def test_a_request_redelivered_to_another_runner_after_its_run_ended_is_skipped() -> None:
    # Seen in the soak: the runner published the end, was killed before the bus recorded the
    # request as handled, and its successor got the request while the status still lagged.
    store = InMemoryExecutionStore()
    execution = await stored(store)
    first, successor = FakeSandbox(), FakeSandbox()

    await runner_over(store, first).handle(ExecutionRequested(execution_id=execution.id))
    await runner_over(store, successor).handle(ExecutionRequested(execution_id=execution.id))

    assert first.started == [execution.id]
    assert successor.started == []


class TimingOutBus(RecordingBus):
    """The first publish of `finished` reaches the bus but answers with a timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.timed_out = False

    async def publish(self, event: Event) -> None:
        await super().publish(event)
        if isinstance(event, ExecutionFinished) and not self.timed_out:
            self.timed_out = True
            raise ServiceUnavailableError("cannot publish finished to Kafka: timed out")


async def test_a_request_retried_after_its_end_failed_to_publish_sends_that_end_again() -> None:
    # Seen in the soak: Kafka restarted, publishing `finished` timed out (yet was delivered),
    # the bus retried the request and the runner ran the script a second time.
    store, sandbox, bus = InMemoryExecutionStore(), FakeSandbox(), TimingOutBus()
    execution = await stored(store)
    runner = runner_over(store, sandbox, bus)
    request = ExecutionRequested(execution_id=execution.id)

    with pytest.raises(ServiceUnavailableError):
        await runner.handle(request)
    await runner.handle(request)  # the bus's retry

    assert sandbox.started == [execution.id]
    finished = [event for event in bus.published if isinstance(event, ExecutionFinished)]
    assert len(finished) == 2
    assert finished[0].result == finished[1].result
