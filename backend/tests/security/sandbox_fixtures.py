"""Fixtures shared by the local sandbox tests (integration and security); need root, bubblewrap
and cgroups, and skip with the reason when the host lacks them."""

import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from sandpod.adapters.sandbox import HostReport, LocalSandboxRunner, SandboxHostError, check_host
from sandpod.config import LocalRunnerSettings
from sandpod.domain.limits import Limits
from sandpod.domain.runtimes import CATALOGUE, Runtime
from sandpod.ports import SandboxJob
from tests.environment import unavailable
from tests.waiting import eventually

SANDBOX_CGROUP_PARENT = "sandpod-test"
SANDBOX_LIMITS = Limits(
    wall_seconds=10,
    cpu_seconds=5,
    memory_mb=128,
    processes=32,
    output_bytes=2 * 1024 * 1024,
    file_size_mb=4,
    tmp_mb=16,
)


@pytest.fixture(scope="session")
def sandbox_host() -> HostReport:
    try:
        return check_host(LocalRunnerSettings(cgroup_parent=SANDBOX_CGROUP_PARENT))
    except SandboxHostError as exc:
        unavailable(f"the local sandbox cannot run here: {exc}")  # CI has bwrap and cgroups


class SandboxJobs:
    """Makes jobs whose ids share a per-test prefix, so leftovers can be traced to the test."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._count = 0

    def __call__(
        self,
        script: str,
        *,
        stdin: str = "",
        runtime: Runtime | None = None,
        limits: Mapping[str, float] | None = None,
        **overrides: float,
    ) -> SandboxJob:
        self._count += 1
        return SandboxJob(
            execution_id=f"{self.prefix}-{self._count}",
            runtime=runtime or next(r for r in CATALOGUE if r.id == "python:3.12"),
            script=script,
            stdin=stdin,
            limits=SANDBOX_LIMITS.model_copy(update={**(limits or {}), **overrides}),
        )


def leftover_cgroups(cgroup_root: Path, prefix: str) -> list[Path]:
    return [
        path
        for controller in ("memory", "pids", "cpu", "cpuacct")
        for path in (cgroup_root / controller / SANDBOX_CGROUP_PARENT).glob(f"{prefix}-*")
    ]


@pytest.fixture
def sandbox_runner(sandbox_host: HostReport, tmp_path: Path) -> Iterator[LocalSandboxRunner]:
    root = tmp_path / "sandboxes"
    runner = LocalSandboxRunner(
        LocalRunnerSettings(sandbox_root=root, cgroup_parent=SANDBOX_CGROUP_PARENT)
    )
    yield runner
    runner.close()
    assert not root.exists() or list(root.iterdir()) == [], "sandbox folders left behind"


@pytest.fixture
def sandbox_jobs(sandbox_runner: LocalSandboxRunner) -> Iterator[SandboxJobs]:
    jobs = SandboxJobs(f"t{secrets.token_hex(5)}")
    yield jobs
    assert leftover_cgroups(Path("/sys/fs/cgroup"), jobs.prefix) == [], "cgroups left behind"


def running_marker_script(marker: str) -> str:
    """A script that announces itself and then sleeps as a process whose argv holds `marker`,
    so a test can see from the host that the sandboxed program really is running."""
    return (
        "import os, sys\n"
        "print('started', flush=True)\n"
        # The sleep keeps a marked process alive until the test kills or checks it.
        "os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', "
        f"{marker!r}])\n"
    )


def host_pids_with(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


async def wait_until_running(marker: str, timeout: float = 60.0) -> None:
    """Poll the host's /proc until a process carrying `marker` exists."""
    await eventually(
        lambda: bool(host_pids_with(marker)),
        timeout=timeout,
        interval=0.05,
        what=f"a sandboxed process with {marker!r}",
    )
