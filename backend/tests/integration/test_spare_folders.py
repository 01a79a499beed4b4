"""Spare execution folders (spares.py): made ahead for cold runs of the default /tmp size, each
used once, nothing of one run in the next, none left after close()."""

from pathlib import Path

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.adapters.sandbox.scratch import unmount_scratch
from sandpod.config import LocalRunnerSettings
from sandpod.domain.result import EndReason
from tests.fixtures.sandbox import SANDBOX_CGROUP_PARENT, WARM_POLICY, SandboxJobs, left_behind
from tests.waiting import eventually

FIRST = "open('/tmp/secret', 'w').write('s')\nprint('planted')\n"
SECOND = (
    "import os\n"
    "print(sorted(os.listdir('/tmp')))\n"
    "print([line.split()[3] for line in open('/proc/self/mountinfo')"
    " if line.split()[4] == '/sandbox'])\n"
)


def cold_runner(root: Path) -> LocalSandboxRunner:
    """No warm pool; its defaults are the test jobs' limits, so their cold runs take spares."""
    settings = LocalRunnerSettings(
        sandbox_root=root, cgroup_parent=SANDBOX_CGROUP_PARENT, warm_pool_size=0
    )
    return LocalSandboxRunner(settings, limit_policy=WARM_POLICY)


async def test_a_cold_run_takes_a_fresh_spare_and_close_removes_the_rest(
    sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    root = tmp_path / "sandboxes"
    runner = cold_runner(root)
    try:
        planted = await runner.run(sandbox_jobs(FIRST))
        assert planted.stdout == "planted\n", planted
        await eventually(lambda: len(list(root.glob("spare-*"))) >= 2)  # made after the run
        seen = await runner.run(sandbox_jobs(SECOND))
    finally:
        await runner.close()
    assert seen.end_reason is EndReason.COMPLETED, seen
    tmp, sources = seen.stdout.splitlines()
    assert tmp == "['.build', 'out']"  # nothing of the first run
    assert "/spare-" in sources, sources  # the run's folder was one made ahead
    assert left_behind(root) == []


async def test_a_spare_whose_tmpfs_went_away_is_not_used(
    sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    root = tmp_path / "sandboxes"
    runner = cold_runner(root)
    try:
        await runner.run(sandbox_jobs(FIRST))
        await eventually(lambda: len(list(root.glob("spare-*"))) >= 4)
        for spare in root.glob("spare-*"):  # what another runner's start-up sweep does
            unmount_scratch(spare / "tmp")
        seen = await runner.run(sandbox_jobs(SECOND))
    finally:
        await runner.close()
    assert seen.end_reason is EndReason.COMPLETED, seen
    assert "/spare-" not in seen.stdout.splitlines()[1]  # it made its own, capped /tmp
    assert left_behind(root) == []
