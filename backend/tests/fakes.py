"""Test doubles for unit tests only. Integration tests use the real adapters."""

import asyncio
from collections.abc import Sequence

from sandpod.domain.events import Event, EventType, ExecutionRequested
from sandpod.domain.execution import Execution
from sandpod.domain.limits import Limits
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import Runtime, python
from sandpod.ports import EventHandler, SandboxJob, ServiceUnavailableError


class FakeSandbox:
    """Runs nothing: echoes stdin, exits with the code in a `# exit N` script line, or blocks."""

    name = "fake"
    reports_start = False

    def __init__(self) -> None:
        self.started: list[str] = []
        self._running: dict[str, asyncio.Event] = {}

    def runtimes(self) -> list[Runtime]:
        return [python("3.12")]

    async def run(self, job: SandboxJob) -> Result:
        self.started.append(job.execution_id)
        if "# block" in job.script:
            stop = self._running[job.execution_id] = asyncio.Event()
            await stop.wait()
            return Result(end_reason=EndReason.CANCELLED, message="cancelled")
        code = 0
        for line in job.script.splitlines():
            if line.startswith("# exit "):
                code = int(line.removeprefix("# exit "))
        return Result(
            end_reason=EndReason.COMPLETED if code == 0 else EndReason.FAILED,
            exit_code=code,
            stdout=job.stdin or "hello\n",
        )

    async def probe(self, job: SandboxJob) -> Result:
        return await self.run(job)

    def process_budget(self, limits: Limits) -> int:
        return limits.processes

    async def close(self) -> None:
        self._running.clear()

    async def cancel(self, execution_id: str) -> bool:
        event = self._running.pop(execution_id, None)
        if event is None:
            return False
        event.set()
        return True


class RecordingBus:
    """An EventBus that records what is published; `down` makes publish fail like an outage."""

    def __init__(self) -> None:
        self.published: list[Event] = []
        self.attempts = 0
        self.down = False

    async def publish(self, event: Event) -> None:
        self.attempts += 1
        if self.down:
            raise ServiceUnavailableError("Kafka at 127.0.0.1:9 is unavailable: test outage")
        self.published.append(event)

    async def consume(
        self,
        group: str,
        types: Sequence[EventType],
        handler: EventHandler,
        *,
        concurrency: int = 1,
        broadcast: bool = False,
    ) -> None:
        raise NotImplementedError("RecordingBus only records publishes")

    async def ping(self) -> None:
        if self.down:
            raise ServiceUnavailableError("test outage")


def request_for(execution: Execution) -> ExecutionRequested:
    """The request event the API publishes for a stored execution."""
    return ExecutionRequested(execution_id=execution.id)
