"""The isolation guard: the runner takes work only while its own canary says the sandbox holds."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sandpod.domain.execution import new_execution_id
from sandpod.domain.isolation import CANARY_SCRIPT, IsolationReport, canary_stdin
from sandpod.domain.limits import Limits
from sandpod.domain.result import Result
from sandpod.domain.runtimes import Runtime
from sandpod.ports import SandboxJob, ServiceUnavailableError

log = logging.getLogger(__name__)

Probe = Callable[[SandboxJob], Awaitable[Result]]
RETRY_SECONDS = 5.0  # after a failed check, the next one comes this soon


class IsolationGuard:
    """Runs the canary through `probe` at start and every `interval` seconds.

    `max_tasks` is the process budget the sandbox must enforce (the canary tries to exceed it);
    `accepted` names properties an operator chose to run without (e.g. "pids_limit" on a cluster
    whose kubelets have no podPidsLimit), which then no longer block work.
    """

    def __init__(
        self,
        probe: Probe,
        *,
        runtime: Runtime,
        limits: Limits,
        max_tasks: int,
        interval_seconds: float,
        accepted: frozenset[str] = frozenset(),
    ) -> None:
        self._probe = probe
        self._runtime = runtime
        self._limits = limits
        self._max_tasks = max_tasks
        self._interval = interval_seconds
        self._accepted = accepted
        self._safe = asyncio.Event()
        self.report: IsolationReport | None = None

    async def check(self) -> IsolationReport:
        job = SandboxJob(
            execution_id=f"canary-{new_execution_id()}",
            runtime=self._runtime,
            script=CANARY_SCRIPT,
            stdin=canary_stdin(max_tasks=self._max_tasks, memory_mb=self._limits.memory_mb),
            limits=self._limits,
        )
        try:
            result = await self._probe(job)
        except Exception as exc:  # a probe that cannot run is a failed check, not a crash
            log.exception("isolation canary could not run")
            result = Result.platform_error(f"{type(exc).__name__}: {exc}")
        found = IsolationReport.from_result(result)
        report = found.accepting(self._accepted)
        if found.broken and not report.broken:
            log.warning("isolation canary: running with accepted gaps: %s", found.describe())
        if report.ok:
            if not self._safe.is_set():
                log.info("isolation canary passed: the runner takes work")
            self._safe.set()
        else:
            log.error("isolation canary failed, the runner takes no work: %s", report.describe())
            self._safe.clear()
        self.report = report
        return report

    async def run(self) -> None:
        """Check now and then every interval, until cancelled; after a failed check, again
        within RETRY_SECONDS (the runner takes no work meanwhile): one canary lost to a busy
        machine must not stop a runner for a whole interval."""
        while True:
            report = await self.check()
            pause = self._interval if report.ok else min(self._interval, RETRY_SECONDS)
            await asyncio.sleep(pause)  # the period between checks, not a race

    async def wait_until_safe(self) -> None:
        await self._safe.wait()

    async def ready(self) -> None:
        """Readiness check: raise, naming what is broken, unless the last canary passed."""
        if self.report is None:
            raise ServiceUnavailableError("sandbox isolation not checked yet (canary running)")
        if not self.report.ok:
            raise ServiceUnavailableError(f"sandbox isolation broken: {self.report.describe()}")
