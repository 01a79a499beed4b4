"""The runner's use case: take a requested execution, run it, report how it ended."""

import logging
from collections import OrderedDict

from sandpod.domain.events import (
    CancelRequested,
    Event,
    ExecutionFinished,
    ExecutionRequested,
    ExecutionStarted,
)
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import RuntimeRegistry, UnknownRuntimeError
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import EventBus, ExecutionStore, SandboxJob, SandboxLauncher, SandboxRunner

log = logging.getLogger(__name__)


class _RecentIds:
    """A bounded set: remembers cancellations that arrived before their execution started."""

    def __init__(self, size: int = 4096) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def add(self, item: str) -> None:
        self._ids[item] = None
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def pop(self, item: str) -> bool:
        return self._ids.pop(item, 0) is None


class RunnerService:
    def __init__(
        self,
        *,
        store: ExecutionStore,
        bus: EventBus,
        sandbox: SandboxRunner | SandboxLauncher,
        runtimes: RuntimeRegistry,
    ) -> None:
        self._store = store
        self._bus = bus
        self._sandbox = sandbox
        self._runtimes = runtimes
        self._cancelled = _RecentIds()

    async def handle(self, event: Event) -> None:
        if isinstance(event, ExecutionRequested):
            await self.run(event)
        elif isinstance(event, CancelRequested):
            await self.cancel(event.execution_id)

    async def run(self, request: ExecutionRequested) -> None:
        execution = await self._store.get(request.execution_id)
        # Redelivery after a finished run (or a cancel while queued) needs no work. A `running`
        # one is run again: its previous runner died before reporting.
        if execution is None or execution.status.is_terminal:
            log.info("skipping request", extra={"execution_id": request.execution_id})
            return
        # A request the sweep sent again is for an execution whose first request may be lost;
        # once that one got it going, the copy must not start it a second time.
        if request.resent and execution.status is not ExecutionStatus.QUEUED:
            log.info("skipping resent request", extra={"execution_id": request.execution_id})
            return
        if self._cancelled.pop(request.execution_id):
            await self._finish(request.execution_id, Result(end_reason=EndReason.CANCELLED))
            return
        try:
            runtime = self._runtimes.get(request.runtime)
        except UnknownRuntimeError as error:
            await self._finish(request.execution_id, Result.platform_error(str(error)))
            return
        job = SandboxJob(
            execution_id=request.execution_id,
            runtime=runtime,
            script=request.script,
            stdin=request.stdin,
            limits=request.limits,
        )
        await self._bus.publish(
            ExecutionStarted(execution_id=request.execution_id, runner=self._sandbox.name)
        )
        if isinstance(self._sandbox, SandboxLauncher):
            await self._sandbox.launch(job)  # the pod monitor reports the end
            return
        result = await self._sandbox.run(job)
        await self._finish(request.execution_id, result)

    async def cancel(self, execution_id: str) -> None:
        if not await self._sandbox.cancel(execution_id):
            self._cancelled.add(execution_id)

    async def _finish(self, execution_id: str, result: Result) -> None:
        await self._bus.publish(ExecutionFinished.from_result(execution_id, result))
        log.info(
            "execution finished",
            extra={"execution_id": execution_id, "end_reason": result.end_reason},
        )
