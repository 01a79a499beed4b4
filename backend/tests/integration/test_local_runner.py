"""The local sandbox runner against the real bubblewrap, cgroups and interpreters of this host."""

import asyncio
import contextlib
import secrets
from pathlib import Path

import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner, SandboxHostError, build_local_runner
from sandpod.adapters.sandbox.dynmods import favoured
from sandpod.adapters.sandbox.toolchains import Toolchain, discover_on_host, locate
from sandpod.config import LocalRunnerSettings
from sandpod.domain.result import EndReason
from sandpod.domain.runtimes import CATALOGUE, PYTHON_EXAMPLE, python
from tests.fixtures.sandbox import (
    SANDBOX_CGROUP_PARENT,
    SandboxJobs,
    host_pids_with,
    left_behind,
    running_marker_script,
    wait_until_running,
)
from tests.waiting import eventually

HOST_RUNTIMES = sorted(discover_on_host(CATALOGUE, LocalRunnerSettings().toolchains_dir))


async def test_hello_world(sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs) -> None:
    result = await sandbox_runner.run(sandbox_jobs(PYTHON_EXAMPLE, stdin="sandpod\n"))
    assert result.end_reason is EndReason.COMPLETED
    assert result.exit_code == 0
    assert result.stdout == "Hello, sandpod, from Python 3.12!\n"
    assert result.stderr == ""
    assert result.message is None
    assert result.wall_seconds > 0
    assert result.cpu_seconds > 0
    assert result.peak_memory_bytes > 0


async def test_big_stdin_is_echoed_without_deadlock(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    # 1.5 MB in and out: far beyond a pipe buffer in both directions at once.
    text = "".join(f"line {i} ✓\n" for i in range(100_000))
    script = "import sys\nsys.stdout.write(sys.stdin.read())\n"
    result = await sandbox_runner.run(sandbox_jobs(script, stdin=text))
    assert result.end_reason is EndReason.COMPLETED
    assert result.stdout == text
    assert not result.stdout_truncated


async def test_script_that_ignores_stdin(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    result = await sandbox_runner.run(sandbox_jobs("print('no read')", stdin="x" * 1_000_000))
    assert result.end_reason is EndReason.COMPLETED
    assert result.stdout == "no read\n"


async def test_non_zero_exit(sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs) -> None:
    result = await sandbox_runner.run(sandbox_jobs("import sys\nprint('bye')\nsys.exit(3)"))
    assert result.end_reason is EndReason.FAILED
    assert result.exit_code == 3
    assert result.stdout == "bye\n"
    assert result.message == "exited with code 3"


async def test_exception_traceback_goes_to_stderr(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = "def f():\n    raise ValueError('boom')\n\nf()\n"
    result = await sandbox_runner.run(sandbox_jobs(script))
    assert result.end_reason is EndReason.FAILED
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert 'File "/sandbox/main.py", line 4, in <module>' in result.stderr
    assert result.stderr.rstrip().endswith("ValueError: boom")


async def test_killed_by_a_signal_is_a_negative_exit_code(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    result = await sandbox_runner.run(sandbox_jobs("import os, signal\nos.kill(os.getpid(), 11)"))
    assert result.end_reason is EndReason.FAILED
    assert result.exit_code == -11
    assert result.message == "killed by SIGSEGV"


@pytest.mark.parametrize("runtime_id", [r for r in HOST_RUNTIMES if r.startswith("python:")])
async def test_each_python_found_on_the_host(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, runtime_id: str
) -> None:
    runtime = next(r for r in sandbox_runner.runtimes() if r.id == runtime_id)
    script = "import sys\nprint('%d.%d' % sys.version_info[:2])\nprint(sys.executable)\n"
    result = await sandbox_runner.run(sandbox_jobs(script, runtime=runtime))
    assert result.end_reason is EndReason.COMPLETED, result.stderr
    version, executable = result.stdout.split()
    assert runtime.version.startswith(version)
    assert Path(executable).name == f"python{version}"


def test_runtimes_are_the_catalogue_entries_found_here(
    sandbox_runner: LocalSandboxRunner,
) -> None:
    assert sorted(r.id for r in sandbox_runner.runtimes()) == HOST_RUNTIMES
    assert set(HOST_RUNTIMES) <= {r.id for r in CATALOGUE}


async def test_unicode_and_binary_output(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = (
        "import sys\n"
        "print('héllo ✓ 🐍 日本')\n"
        "sys.stdout.flush()\n"
        "sys.stdout.buffer.write(b'raw:\\xff\\xfe\\x00end')\n"
        "sys.stderr.write('érr ✗')\n"
    )
    result = await sandbox_runner.run(sandbox_jobs(script))
    assert result.end_reason is EndReason.COMPLETED
    assert result.stdout == "héllo ✓ 🐍 日本\nraw:\ufffd\ufffd\x00end"
    assert result.stderr == "érr ✗"


async def test_output_exactly_at_the_cap_is_not_truncated(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    job = sandbox_jobs("import sys\nsys.stdout.write('a' * 5000)", output_bytes=5000)
    result = await sandbox_runner.run(job)
    assert result.end_reason is EndReason.COMPLETED
    assert (len(result.stdout), result.stdout_truncated) == (5000, False)


async def test_one_byte_over_the_cap_is_an_output_limit(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    job = sandbox_jobs("import sys\nsys.stderr.write('e' * 5001)", output_bytes=5000)
    result = await sandbox_runner.run(job)
    assert result.end_reason is EndReason.OUTPUT_LIMIT
    assert result.stderr == "e" * 5000
    assert result.stderr_truncated
    assert not result.stdout_truncated


async def test_limits_are_in_place_before_the_first_line_runs(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = (
        "import resource\n"
        "print(open('/proc/self/cgroup').read())\n"
        "for name in ('RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_NOFILE', 'RLIMIT_CORE'):\n"
        "    print(name, *resource.getrlimit(getattr(resource, name)))\n"
    )
    job = sandbox_jobs(script, cpu_seconds=2.5, file_size_mb=3)
    result = await sandbox_runner.run(job)
    assert result.end_reason is EndReason.COMPLETED
    memory_line = next(line for line in result.stdout.splitlines() if ":memory:" in line)
    assert f"/{SANDBOX_CGROUP_PARENT}/{job.execution_id}-" in memory_line
    assert f"RLIMIT_CPU 3 4\nRLIMIT_FSIZE {3 << 20} {3 << 20}" in result.stdout
    assert "RLIMIT_NOFILE 256 256\nRLIMIT_CORE 0 0" in result.stdout


async def test_cancel_kills_a_running_sandbox(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    marker = f"cancel-me-{secrets.token_hex(6)}"
    job = sandbox_jobs(running_marker_script(marker), wall_seconds=60)
    task = asyncio.create_task(sandbox_runner.run(job))
    await wait_until_running(marker)
    assert await sandbox_runner.cancel(job.execution_id)
    result = await task
    assert result.end_reason is EndReason.CANCELLED
    assert result.exit_code == -9
    assert result.stdout == "started\n"
    assert result.message == "cancelled; the sandbox was stopped"
    assert host_pids_with(marker) == []
    assert not await sandbox_runner.cancel(job.execution_id)


async def test_cancel_of_an_unknown_execution_is_false(
    sandbox_runner: LocalSandboxRunner,
) -> None:
    assert not await sandbox_runner.cancel("ex_nobody_runs_this")


async def test_cancelling_the_asyncio_task_still_cleans_up(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    # The fixtures fail the test if a folder or cgroup of this test is left behind.
    marker = f"task-cancel-{secrets.token_hex(6)}"
    job = sandbox_jobs(running_marker_script(marker), wall_seconds=60)
    task = asyncio.create_task(sandbox_runner.run(job))
    await wait_until_running(marker)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert host_pids_with(marker) == []
    assert not await sandbox_runner.cancel(job.execution_id)


async def test_a_task_cancelled_while_its_sandbox_is_being_built_ends_and_cleans_up(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    """A cancel at any point of setup (an app closing) must end the run. Cancelled inside
    create_subprocess_exec, asyncio waited forever for pipes the blocked sandbox init holds."""
    warm = await sandbox_runner.run(sandbox_jobs("print('warm')"))  # the shared setup is done
    assert warm.stdout == "warm\n"
    for steps in range(40):
        task = asyncio.create_task(sandbox_runner.run(sandbox_jobs("print('never')")))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        # A bound on a hang, not a speed check: cleanup takes well under a second.
        done, _ = await asyncio.wait([task], timeout=30)
        assert done, f"the run, cancelled after {steps} loop steps, never ended"
        with contextlib.suppress(asyncio.CancelledError):
            task.result()

    # Cleanups of cancelled runs finish in the background; bwrap's argv names the job's folder.
    async def all_gone() -> bool:
        return host_pids_with(sandbox_jobs.prefix) == []

    await eventually(all_gone, timeout=30, what="every cancelled sandbox to go away")


async def test_concurrent_runs(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    jobs = [
        sandbox_jobs(f"import sys\nprint({i} * int(sys.stdin.read()))", stdin=str(i))
        for i in range(8)
    ]
    results = await asyncio.gather(*(sandbox_runner.run(job) for job in jobs))
    assert [r.end_reason for r in results] == [EndReason.COMPLETED] * 8
    assert [r.stdout for r in results] == [f"{i * i}\n" for i in range(8)]


async def test_same_execution_id_twice_at_once_is_refused(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    job = sandbox_jobs("import time\ntime.sleep(1)")  # runs long enough to be there twice
    first = asyncio.create_task(sandbox_runner.run(job))
    await eventually(
        lambda: job.execution_id in sandbox_runner._active, what="the first run registered"
    )
    second = await sandbox_runner.run(job)
    assert second.end_reason is EndReason.PLATFORM_ERROR
    assert (await first).end_reason is EndReason.COMPLETED


async def test_missing_runtime_is_a_platform_error(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    legacy = python("3.12").model_copy(update={"id": "python:2.7", "version": "2.7"})
    result = await sandbox_runner.run(sandbox_jobs("print(1)", runtime=legacy))
    assert result.end_reason is EndReason.PLATFORM_ERROR
    assert result.message == "runtime python:2.7 is not installed on this host"


async def test_missing_bubblewrap_is_a_platform_error(
    sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    settings = LocalRunnerSettings(
        sandbox_root=tmp_path / "sandboxes",
        cgroup_parent=SANDBOX_CGROUP_PARENT,
        bwrap_path=str(tmp_path / "no-bwrap-here"),
    )
    with pytest.raises(SandboxHostError, match=r"^bubblewrap is not installed: apt-get install"):
        build_local_runner(settings)  # the preflight stops a server from starting
    runner = build_local_runner(settings, preflight=False)  # bwrap removed while running
    result = await runner.run(sandbox_jobs("print(1)"))
    assert result.end_reason is EndReason.PLATFORM_ERROR
    assert result.message == "bubblewrap is not installed: apt-get install bubblewrap"


async def test_unusable_cgroup_parent_is_a_platform_error(
    sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    runner = LocalSandboxRunner(
        LocalRunnerSettings(
            sandbox_root=tmp_path / "sandboxes",
            cgroup_parent="no/such/parent/tree",
            warm_pool_size=0,
        )
    )
    try:
        result = await runner.run(sandbox_jobs("print(1)"))
    finally:
        await runner.close()
    assert result.end_reason is EndReason.PLATFORM_ERROR
    assert result.message is not None
    assert result.message.startswith("cannot create the sandbox cgroup: cannot create cgroup")
    assert left_behind(tmp_path / "sandboxes") == []


async def test_system_interpreter_under_usr(
    sandbox_host: object, sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    # The distribution's interpreter needs no mount beyond /usr (pyenv's needs its prefix).
    # Debian ships exactly one python3 under /usr/bin; its version varies by release.
    version = Path("/usr/bin/python3").resolve().name.removeprefix("python")
    toolchain = locate(python(version), [Path("/usr/bin")], tmp_path)
    assert toolchain is not None, f"/usr/bin/python{version} was not discovered"
    runner = LocalSandboxRunner(
        LocalRunnerSettings(
            sandbox_root=tmp_path / "sandboxes", cgroup_parent=SANDBOX_CGROUP_PARENT
        ),
        toolchains={f"python:{version}": toolchain},
    )
    try:
        job = sandbox_jobs("import sys\nprint(sys.prefix)", runtime=python(version))
        result = await runner.run(job)
    finally:
        await runner.close()
    assert result.end_reason is EndReason.COMPLETED, result
    assert result.stdout == "/usr\n"


async def test_a_sandbox_root_others_can_write_is_refused(
    sandbox_host: object, sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp itself
    runner = LocalSandboxRunner(
        LocalRunnerSettings(
            sandbox_root=shared, cgroup_parent=SANDBOX_CGROUP_PARENT, warm_pool_size=0
        )
    )
    try:
        result = await runner.run(sandbox_jobs("print(1)"))
    finally:
        await runner.close()
    assert result.end_reason is EndReason.PLATFORM_ERROR
    assert "writable by no one else" in str(result.message)
    assert left_behind(shared) == []


async def test_a_broken_sandbox_setup_is_a_platform_error_with_bwraps_reason(
    sandbox_host: object, sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    ghost = Toolchain(
        runtime_id="python:3.12",
        programs={"python3.12": tmp_path / "gone" / "bin" / "python3.12"},
        binds=(tmp_path / "gone",),
        toolchains_dir=tmp_path,
        installed_version="3.12.0",
    )
    runner = LocalSandboxRunner(
        LocalRunnerSettings(
            sandbox_root=tmp_path / "sandboxes",
            cgroup_parent=SANDBOX_CGROUP_PARENT,
            warm_pool_size=0,
        ),
        toolchains={"python:3.12": ghost},
    )
    try:
        result = await runner.run(sandbox_jobs("print(1)"))
    finally:
        await runner.close()
    assert result.end_reason is EndReason.PLATFORM_ERROR
    assert f"bwrap: Can't find source path {tmp_path / 'gone'}" in str(result.message)
    assert left_behind(tmp_path / "sandboxes") == []


async def test_the_runner_switches_cgroup_moves_to_favour_dynamic_changes(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    # On cgroup v1 (this host) the first run mounts the favordynmods hierarchy (or finds one).
    result = await sandbox_runner.run(sandbox_jobs("print(1)"))
    assert result.end_reason is EndReason.COMPLETED
    assert favoured(Path("/proc/self/mountinfo").read_text())


async def test_a_folder_whose_removal_never_ran_is_removed_by_close(
    tmp_path: Path, sandbox_jobs: SandboxJobs
) -> None:
    # A server thread's loop that ends right after a run cancels the removal the run left to
    # the background; the runner's close() (here on another loop) must still remove the folder.
    root = tmp_path / "sandboxes"
    runner = LocalSandboxRunner(
        LocalRunnerSettings(
            sandbox_root=root, cgroup_parent=SANDBOX_CGROUP_PARENT, warm_pool_size=0
        )
    )
    job = sandbox_jobs("print('ran')")
    result = await asyncio.to_thread(asyncio.run, runner.run(job))
    assert result.stdout == "ran\n", result
    await runner.close()
    assert left_behind(root) == [], "sandbox folders left behind"
