"""The isolation guard re-checks soon after a failed canary (a busy machine can lose one), and
takes no work until a check passes."""

import asyncio
import json

import pytest

from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import python
from sandpod.ports import SandboxJob
from sandpod.services import isolation
from sandpod.services.isolation import IsolationGuard


async def test_a_failed_canary_is_checked_again_soon_and_work_waits_for_a_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(isolation, "RETRY_SECONDS", 0.01)
    outcomes = [
        Result(end_reason=EndReason.MEMORY_LIMIT, message="memory limit exceeded"),  # lost
        Result(
            end_reason=EndReason.COMPLETED, stdout=json.dumps({"sandpod_canary": 1, "broken": {}})
        ),
    ]
    probed: list[str] = []

    async def probe(job: SandboxJob) -> Result:
        probed.append(job.execution_id)
        return outcomes[min(len(probed), len(outcomes)) - 1]

    guard = IsolationGuard(
        probe,
        runtime=python("3.12"),
        limits=DEFAULT_POLICY.defaults,
        max_tasks=8,
        interval_seconds=3600,  # a whole hour: only the retry can bring the second check
    )
    running = asyncio.create_task(guard.run())
    try:
        await asyncio.wait_for(guard.wait_until_safe(), timeout=5)
    finally:
        running.cancel()
    assert len(probed) == 2
    assert guard.report is not None
    assert guard.report.ok
