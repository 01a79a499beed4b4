"""The isolation canary through the real local runner: it passes on a sound sandbox, and when a
property does not hold the guard names it, readiness answers 503 and the runner takes no work."""

import asyncio

import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.composition.isolation import CANARY_LIMITS
from sandpod.domain.isolation import IsolationReport
from sandpod.domain.runtimes import python
from sandpod.ports import ServiceUnavailableError
from sandpod.services.isolation import IsolationGuard


def guard(
    runner: LocalSandboxRunner, *, max_tasks: int, accepted: frozenset[str] = frozenset()
) -> IsolationGuard:
    return IsolationGuard(
        runner.run,
        runtime=python("3.12"),
        limits=CANARY_LIMITS,
        max_tasks=max_tasks,
        interval_seconds=3600,
        accepted=accepted,
    )


async def test_the_local_runner_passes_every_check(sandbox_runner: LocalSandboxRunner) -> None:
    checker = guard(sandbox_runner, max_tasks=CANARY_LIMITS.processes)
    report = await checker.check()
    assert report == IsolationReport(), report.describe()
    await checker.ready()
    await asyncio.wait_for(checker.wait_until_safe(), timeout=1)


async def test_a_process_budget_not_in_force_is_named_and_blocks_work(
    sandbox_runner: LocalSandboxRunner,
) -> None:
    # The sandbox allows 32 tasks; a guard that expects 8 sees a limit that does not hold.
    checker = guard(sandbox_runner, max_tasks=8)
    report = await checker.check()
    assert set(report.broken) == {"pids_limit"}, report.describe()
    with pytest.raises(ServiceUnavailableError, match="pids_limit"):
        await checker.ready()
    waiting = asyncio.create_task(checker.wait_until_safe())
    await asyncio.sleep(0.2)  # the gate must still be closed after a moment
    assert not waiting.done()
    waiting.cancel()


async def test_an_accepted_gap_is_logged_but_does_not_block(
    sandbox_runner: LocalSandboxRunner,
) -> None:
    checker = guard(sandbox_runner, max_tasks=8, accepted=frozenset({"pids_limit"}))
    assert (await checker.check()).ok
    await checker.ready()
