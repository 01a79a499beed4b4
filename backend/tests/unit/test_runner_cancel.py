"""The runner and cancellation: a cancel is never lost, whenever it arrives."""

import asyncio

from sandpod.adapters.memory.output_files import InMemoryOutputFiles
from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.domain.events import CancelRequested, Event, ExecutionFinished, ExecutionStarted
from sandpod.domain.execution import Execution, ExecutionSpec
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason
from sandpod.domain.runtimes import RuntimeRegistry
from sandpod.services.runner import RunnerService
from tests.fakes import FakeSandbox, RecordingBus, request_for
from tests.waiting import eventually


class GatedBus(RecordingBus):
    """Holds the publish of `started` until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.holding = asyncio.Event()

    async def publish(self, event: Event) -> None:
        if isinstance(event, ExecutionStarted):
            self.holding.set()
            await self.gate.wait()
        await super().publish(event)


async def test_a_cancel_arriving_while_started_is_published_stops_the_run() -> None:
    store = InMemoryExecutionStore()
    bus, sandbox = GatedBus(), FakeSandbox()
    runner = RunnerService(
        store=store,
        bus=bus,
        sandbox=sandbox,
        runtimes=RuntimeRegistry(sandbox.runtimes()),
        files=InMemoryOutputFiles(),
    )
    spec = ExecutionSpec(runtime="python:3.12", script="# block", limits=DEFAULT_POLICY.defaults)
    execution = Execution(owner="alice", spec=spec)
    await store.add(execution)

    run = asyncio.create_task(runner.handle(request_for(execution)))
    await bus.holding.wait()  # the runner is publishing `started`; the sandbox has no job yet
    await runner.handle(CancelRequested(execution_id=execution.id))
    bus.gate.set()

    def finished() -> list[ExecutionFinished]:
        return [e for e in bus.published if isinstance(e, ExecutionFinished)]

    try:
        await eventually(lambda: bool(finished()), timeout=5, what="the cancelled run to end")
    finally:
        await sandbox.cancel(execution.id)  # a lost cancel leaves the fake blocked: free it
        await run
    [end] = finished()
    assert end.result.end_reason is EndReason.CANCELLED
