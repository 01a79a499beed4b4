"""The runner's use case: take a requested execution, run it, report how it ended."""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from sandpod.domain.events import (
    CancelRequested,
    Event,
    ExecutionFinished,
    ExecutionRequested,
    ExecutionStarted,
)
from sandpod.domain.execution import Execution
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import RuntimeRegistry, UnknownRuntimeError
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import (
    EventBus,
    ExecutionStore,
    OutputFileStore,
    OutputLog,
    Sandbox,
    SandboxJob,
    ServiceUnavailableError,
)
from sandpod.services.attach import AttachHub
from sandpod.services.output import ChunkPolicy, OutputRecorder

log = logging.getLogger(__name__)


class _RecentIds:
    """A bounded set of execution ids, the oldest forgotten first."""

    def __init__(self, size: int = 4096) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def add(self, item: str) -> None:
        self._ids[item] = None
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def __contains__(self, item: str) -> bool:
        return item in self._ids

    def pop(self, item: str) -> bool:
        return self._ids.pop(item, 0) is None


class RunnerService:
    def __init__(
        self,
        *,
        store: ExecutionStore,
        bus: EventBus,
        sandbox: Sandbox,
        runtimes: RuntimeRegistry,
        files: OutputFileStore,
        output: OutputLog | None = None,
        chunks: ChunkPolicy | None = None,
        attach: AttachHub | None = None,
    ) -> None:
        self._files = files
        self._output = output
        self._chunks = chunks or ChunkPolicy()
        self._attach = attach
        self._store = store
        self._bus = bus
        self._sandbox = sandbox
        self._runtimes = runtimes
        # Cancellations that arrived before their execution's request.
        self._cancelled = _RecentIds()
        # Executions this runner finished: a copy of the request delivered after the end but
        # before the stored status shows it must not run the script again.
        self._finished = _RecentIds()
        # Ends whose publish failed, sent again when the bus retries their request.
        self._unpublished_ends: dict[str, Result] = {}
        # Executions this runner has taken on, each with its cancel token: registered before
        # `started` is published, so a cancel that follows `started` always finds it here.
        self._held: dict[str, asyncio.Event] = {}

    async def handle(self, event: Event) -> None:
        match event:
            case ExecutionRequested():
                await self.run(event)
            case CancelRequested():
                await self.cancel(event.execution_id)

    async def run(self, request: ExecutionRequested) -> None:
        execution_id = request.execution_id
        if execution_id in self._held or execution_id in self._finished:
            # The bus delivered it again (a rebalance under load) while or after it ran here.
            log.info(
                "skipping a request this runner already took", extra={"execution_id": execution_id}
            )
            return
        # Held from the first await on, so a copy delivered meanwhile is skipped just above.
        cancelled = self._held[execution_id] = asyncio.Event()
        try:
            unpublished = self._unpublished_ends.get(execution_id)
            if unpublished is not None:
                # Its run ended but the publish failed (the handler is being retried): send the
                # same end again. Running it again would be a second run.
                await self._finish(execution_id, unpublished)
                return
            if self._cancelled.pop(execution_id):
                cancelled.set()
            execution = await self._startable(request)
            if execution is not None:
                await self._run(execution, cancelled)
        finally:
            del self._held[execution_id]

    async def _startable(self, request: ExecutionRequested) -> Execution | None:
        execution = await self._store.get(request.execution_id)
        # Redelivery after a finished run (or a cancel while queued) needs no work. A `running`
        # one is run again: its previous runner died before reporting.
        if execution is None or execution.status.is_terminal:
            log.info("skipping request", extra={"execution_id": request.execution_id})
            return None
        # A request the sweep sent again is for an execution whose first request may be lost;
        # once that one got it going, the copy must not start it a second time.
        # The status lags (the result processor applies `started`), so the start claim decides.
        first_start = await self._store.claim_start(execution.id)
        if request.resent and (execution.status is not ExecutionStatus.QUEUED or not first_start):
            log.info("skipping resent request", extra={"execution_id": request.execution_id})
            return None
        # Delivered again after a run ended and was published (its runner died before the
        # bus heard it was handled): the end is on its way to the store; running it is a rerun.
        if not first_start and await self._store.run_ended(execution.id):
            log.info("skipping a request whose run ended", extra={"execution_id": execution.id})
            return None
        return execution

    async def cancel(self, execution_id: str) -> None:
        held = self._held.get(execution_id)
        if held is not None:
            held.set()  # its run stops the sandbox, or never starts one
        elif not await self._sandbox.cancel(execution_id):
            self._cancelled.add(execution_id)  # its request may still be on its way here

    async def _run(self, execution: Execution, cancelled: asyncio.Event) -> None:
        if cancelled.is_set():
            await self._finish(execution.id, _cancelled_before_start())
            return
        try:
            runtime = self._runtimes.get(execution.spec.runtime)
        except UnknownRuntimeError as error:
            await self._finish(execution.id, Result.platform_error(str(error)))
            return
        spec = execution.spec
        recorder = None
        if self._output is not None:
            recorder = OutputRecorder(self._output, execution.id, self._chunks)
        stdin = None
        if spec.interactive and self._attach is not None:
            stdin = self._attach.pipe(execution.id, len(spec.stdin.encode()))
        job = SandboxJob(
            execution_id=execution.id,
            runtime=runtime,
            script=spec.script,
            stdin=spec.stdin,
            limits=spec.limits,
            files=spec.files,
            entrypoint=spec.entrypoint,
            args=spec.args,
            compiler_options=spec.compiler_options,
            output=recorder,
            live_stdin=stdin,
            on_start=self._started_publisher(execution.id),
        )
        if not self._sandbox.reports_start:
            # A pod's `started` comes from its monitor once the container runs: until then it
            # is Pending, still `queued` (the queue timeout, not the wall limit, covers it).
            started = ExecutionStarted(execution_id=job.execution_id, runner=self._sandbox.name)
            await self._bus.publish(started)
        if cancelled.is_set():
            if recorder is not None:
                await recorder.close()
            await self._finish(job.execution_id, _cancelled_before_start())
            return
        try:
            result = await _run_until_cancelled(self._sandbox, job, cancelled)
        finally:
            if self._attach is not None and stdin is not None:
                self._attach.discard(job.execution_id)
        if result is None:  # a pod: its monitor reports the end, the sandbox ends its output
            if cancelled.is_set():  # the cancel arrived while it was being started
                await self._sandbox.cancel(job.execution_id)
            return
        if recorder is not None:
            await recorder.close()  # the output's end before the terminal status
        result = await keep_output_files(self._files, job.execution_id, result)
        await self._finish(job.execution_id, result)

    def _started_publisher(self, execution_id: str) -> Callable[[], Awaitable[None]] | None:
        """What a sandbox that reports starts calls when it sees the program start itself."""
        if not self._sandbox.reports_start:
            return None

        async def publish() -> None:
            await self._bus.publish(
                ExecutionStarted(execution_id=execution_id, runner=self._sandbox.name)
            )

        return publish

    async def _finish(self, execution_id: str, result: Result) -> None:
        # Kept until the bus has it: a publish that timed out may still have been delivered.
        self._unpublished_ends[execution_id] = result
        await self._bus.publish(ExecutionFinished(execution_id=execution_id, result=result))
        del self._unpublished_ends[execution_id]
        self._finished.add(execution_id)
        try:
            await self._store.mark_run_ended(execution_id)
        except ServiceUnavailableError as error:
            # The end is published; only a copy delivered to another runner might rerun it.
            log.warning("run end not recorded: %s", error, extra={"execution_id": execution_id})
        log.info(
            "execution finished",
            extra={"execution_id": execution_id, "end_reason": result.end_reason},
        )


async def keep_output_files(files: OutputFileStore, execution_id: str, result: Result) -> Result:
    """Store the files a run left; the result goes on without their bytes."""
    if result.stored_files:
        try:
            await files.put(execution_id, result.stored_files)
        except ServiceUnavailableError as error:
            # The result still counts; only the files are lost, and it says so.
            log.warning("output files not kept", extra={"execution_id": execution_id})
            result = result.with_stored_files([], truncated=True).model_copy(
                update={"message": f"{result.message or 'ended'}; output files lost: {error}"}
            )
    return result.without_file_data()


async def _run_until_cancelled(
    sandbox: Sandbox, job: SandboxJob, cancelled: asyncio.Event
) -> Result | None:
    async def stop_when_cancelled() -> None:
        await cancelled.wait()
        await sandbox.cancel(job.execution_id)

    # The stopper first runs once run() below suspends, and a sandbox holds its job from the
    # moment run() is called (the port's promise): its cancel() always finds the job.
    stopper = asyncio.create_task(stop_when_cancelled())
    try:
        return await sandbox.run(job)
    finally:
        stopper.cancel()
        await asyncio.gather(stopper, return_exceptions=True)


def _cancelled_before_start() -> Result:
    return Result(end_reason=EndReason.CANCELLED, message="cancelled before it started")
