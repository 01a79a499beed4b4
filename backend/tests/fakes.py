"""Test doubles for unit tests only. Integration tests use the real adapters."""

import asyncio

from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import Runtime, python
from sandpod.ports import SandboxJob


class FakeSandbox:
    """Runs nothing: echoes stdin, exits with the code in a `# exit N` script line, or blocks."""

    name = "fake"

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

    async def cancel(self, execution_id: str) -> bool:
        event = self._running.pop(execution_id, None)
        if event is None:
            return False
        event.set()
        return True
