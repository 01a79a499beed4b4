"""The local runner's warm pool (warm.py) against real bubblewrap, cgroups and Python: a warm run
is indistinguishable from a cold one, takes the job's limits, and shares nothing with the next."""

import asyncio
import dataclasses
import secrets
import threading
from pathlib import Path
from typing import Any

import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.adapters.sandbox.workdir import Workdir
from sandpod.domain.files import SourceFile
from sandpod.domain.output import OutputStream
from sandpod.domain.result import EndReason, Result
from sandpod.ports import SandboxJob
from tests.fixtures.sandbox import (
    SANDBOX_CGROUP_PARENT,
    WARM_POLICY,
    SandboxJobs,
    host_pids_with,
    left_behind,
    warm_runner,
    warm_runner_settings,
)

SCRIPTS = {
    "hello and stdin": "name = input()\nprint(f'hello {name}')\n",
    "traceback": "def f():\n    raise ValueError('boom')\n\nf()\n",
    "syntax error": "x = (\n",
    "exit code": "import sys\nprint('bye')\nsys.exit(3)\n",
    "what the program sees": (
        "import sys\n"
        "print(sys.argv, sys.path[0], __file__, __name__)\n"
        "print(sorted(name for name in globals() if name != 'sys'))\n"
        "print(sorted(name for name in sys.modules if name.startswith('_sandpod')))\n"
    ),
    # The loader's control socket is close-on-exec: a child sees what a cold program's sees.
    "a child's open descriptors": ("import os\nos.system('ls /proc/self/fd')\n"),
    "stderr and exception chain": (
        "import sys\nprint('to stderr', file=sys.stderr)\n"
        "try:\n    {}['x']\nexcept KeyError as e:\n    raise RuntimeError('again') from e\n"
    ),
}


# How a program ends: the warm loader skips the interpreter's teardown (warm.py), so what a
# program can see of it must still happen, in the same order, with the same status.
EXITS = {
    "atexit handlers, last registered first": (
        "import atexit\n"
        "atexit.register(print, 'registered first')\n"
        "atexit.register(print, 'registered last')\n"
        "print('main done')\n"
    ),
    "a global's __del__ and a weakref.finalize": (
        "import weakref\n"
        "class Noisy:\n"
        "    def __del__(self):\n"
        "        print('deleted at exit')\n"
        "keep = Noisy()\n"
        "class Other: pass\n"
        "other = Other()\n"
        "weakref.finalize(other, print, 'finalized at exit')\n"
    ),
    "a thread still running when main ends": (
        "import threading, time\n"
        "def late():\n"
        "    time.sleep(0.2)\n"
        "    print('thread done')\n"
        "threading.Thread(target=late).start()\n"
        "print('main done')\n"
    ),
    "files left open, stdout replaced": (
        "import os, sys\n"
        "kept = open('/tmp/out/kept.txt', 'w')\n"
        "kept.write('never closed')\n"
        "class Holder: pass\n"
        "holder = Holder()\n"
        "holder.cycle = holder\n"
        "holder.file = open('/tmp/out/cycle.txt', 'w')\n"
        "holder.file.write('in a cycle')\n"
        "os.buffered = open('/tmp/out/module.txt', 'w')\n"
        "os.buffered.write('held by a library module')\n"
        "sys.stdout = open('/tmp/out/stdout.txt', 'w')\n"
        "print('to the replaced stdout')\n"
    ),
    "sys.exit with a message": "import sys\nsys.exit('bad input')\n",
    "sys.exit(256)": "import sys\nsys.exit(256)\n",
    "sys.exit(-1)": "import sys\nsys.exit(-1)\n",
    "sys.exit(True)": "import sys\nsys.exit(True)\n",
    "sys.exit(2**70)": "import sys\nsys.exit(2**70)\n",
    "sys.exit(None) in an atexit handler's program": (
        "import atexit, sys\natexit.register(print, 'handler ran')\nsys.exit()\n"
    ),
    "the loader's modules are not imported": (
        "import sys\nprint([name for name in ('atexit', 'gc') if name in sys.modules])\n"
    ),
}


def files_of(result: Result) -> list[tuple[str, bytes]]:
    return sorted((item.name, item.data) for item in result.stored_files)


def same(cold: Result, warm: Result) -> None:
    assert (warm.end_reason, warm.exit_code) == (cold.end_reason, cold.exit_code)
    assert warm.stdout == cold.stdout
    assert warm.stderr == cold.stderr
    assert warm.message == cold.message
    assert files_of(warm) == files_of(cold)


async def test_a_warm_run_is_indistinguishable_from_a_cold_one(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    seen: dict[str, Result] = {}
    async with warm_runner(tmp_path / "warm") as runner:
        for name, script in SCRIPTS.items():
            claims = runner.warm_claims
            warm = await runner.run(sandbox_jobs(script, stdin="sandpod\n"))
            assert runner.warm_claims == claims + 1, f"{name}: not run warm"
            cold = await sandbox_runner.run(sandbox_jobs(script, stdin="sandpod\n"))
            same(cold, warm)
            seen[name] = warm
            await runner.warm_up()
    assert seen["what the program sees"].stdout.startswith(
        "['/sandbox/main.py'] /sandbox /sandbox/main.py __main__\n"
    )
    assert seen["traceback"].stderr.startswith(
        'Traceback (most recent call last):\n  File "/sandbox'
    )


@pytest.mark.parametrize("name", EXITS)
async def test_a_warm_program_ends_as_a_cold_one(
    name: str, sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    async with warm_runner(tmp_path / "warm") as runner:
        warm = await runner.run(sandbox_jobs(EXITS[name]))
        assert runner.warm_claims == 1, f"{name}: not run warm"
    cold = await sandbox_runner.run(sandbox_jobs(EXITS[name]))
    same(cold, warm)
    assert cold.end_reason is not EndReason.PLATFORM_ERROR, cold


class FirstLine:
    """An output sink that keeps the program's first line of stdout."""

    def __init__(self) -> None:
        self.text = ""
        self.seen = asyncio.Event()

    def write(self, stream: OutputStream, data: bytes, *, truncated: bool = False) -> None:
        if stream is OutputStream.STDOUT and not self.seen.is_set():
            self.text += data.decode()
            if "\n" in self.text:
                self.seen.set()

    async def close(self) -> None:
        return None


async def test_an_idle_warm_sandbox_yields_the_cpu_and_a_claimed_one_does_not(
    sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    # Starting and waiting, a warm sandbox has the lowest CPU weight (a refill takes only
    # CPU time a running program does not want); its claim gives it the normal weight back.
    cpu = Path("/sys/fs/cgroup/cpu")
    script = (
        "import time\n"
        "print(next(line for line in open('/proc/self/cgroup') if ':cpu:' in line)"
        ".split(':')[2].strip(), flush=True)\n"
        "time.sleep(1)\n"
    )
    async with warm_runner(tmp_path / "warm", size=1) as runner:
        idle = {
            path.name: (path / "cpu.shares").read_text().strip()
            for path in cpu.glob(f"{SANDBOX_CGROUP_PARENT}/warm-*")
        }
        sink = FirstLine()
        job = dataclasses.replace(sandbox_jobs(script), output=sink)
        running = asyncio.create_task(runner.run(job))
        await asyncio.wait_for(sink.seen.wait(), 10)
        claimed = sink.text.strip().lstrip("/")
        during = (cpu / claimed / "cpu.shares").read_text().strip()
        result = await running
        assert runner.warm_claims == 1
    assert result.end_reason is EndReason.COMPLETED, result
    assert idle[Path(claimed).name] == "10"
    assert during == "1024"


async def test_args_and_several_files_reach_the_program_as_in_a_cold_run(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    def job() -> SandboxJob:
        base = sandbox_jobs("")
        return SandboxJob(
            base.execution_id,
            base.runtime,
            "",
            "",
            base.limits,
            files=(
                SourceFile(name="app.py", content="import helper\nhelper.show()\n"),
                SourceFile(
                    name="helper.py",
                    content="import sys\ndef show():\n    print(sys.argv[1:], __name__)\n",
                ),
            ),
            entrypoint="app.py",
            args=("one", "two words"),
        )

    async with warm_runner(tmp_path / "warm") as runner:
        warm = await runner.run(job())
        assert runner.warm_claims == 1
    cold = await sandbox_runner.run(job())
    same(cold, warm)
    assert warm.stdout == "['one', 'two words'] helper\n"


async def test_the_jobs_limits_replace_the_pools(sandbox_jobs: SandboxJobs, tmp_path: Path) -> None:
    # The pool started its sandboxes with 128 MiB, 32 processes and 10 s of wall time.
    async with warm_runner(tmp_path / "warm") as runner:
        memory = await runner.run(
            sandbox_jobs("x = bytearray(96 * 1024 * 1024)\nprint('allocated')", memory_mb=48)
        )
        await runner.warm_up()
        forks = await runner.run(
            sandbox_jobs(
                "import os, time\n"
                "made = 0\n"
                "try:\n"
                "    for _ in range(20):\n"
                "        if os.fork() == 0:\n"
                "            time.sleep(5); os._exit(0)\n"
                "        made += 1\n"
                "except OSError:\n"
                "    pass\n"
                "print(made)\n",
                processes=4,
            )
        )
        await runner.warm_up()
        await asyncio.sleep(1.5)  # idle time is not run time: the wall clock starts at the claim
        wall = await runner.run(
            sandbox_jobs("import time\ntime.sleep(0.5)\nprint('done')", wall_seconds=1.2)
        )
        await runner.warm_up()
        slow = await runner.run(sandbox_jobs("import time\ntime.sleep(5)", wall_seconds=1))
        assert runner.warm_claims == 4
    assert memory.end_reason is EndReason.MEMORY_LIMIT, memory
    assert forks.end_reason is EndReason.COMPLETED, forks
    assert int(forks.stdout) < 4  # the program itself counts against the 4
    assert wall.end_reason is EndReason.COMPLETED, wall
    assert wall.cpu_seconds < 0.2  # the interpreter's start is not billed to the job
    assert slow.end_reason is EndReason.TIMED_OUT, slow
    assert 1 <= slow.wall_seconds < 2


async def test_nothing_of_one_execution_is_visible_to_the_next(
    sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    marker = f"leftover-{secrets.token_hex(4)}"
    first = (
        "import os, subprocess, sys\n"
        "open('/tmp/secret', 'w').write('s')\n"
        "open('/dev/shm/secret', 'w').write('s')\n"
        "os.environ['LEAK'] = '1'\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}])\n"
        "print('planted')\n"
    )
    second = (
        "import os\n"
        "tmp, shm = sorted(os.listdir('/tmp')), sorted(os.listdir('/dev/shm'))\n"
        "print(tmp, shm, os.environ.get('LEAK'))\n"
        "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "print(sorted(open(f'/proc/{p}/cmdline').read() for p in pids))\n"
    )
    async with warm_runner(tmp_path / "warm", size=2) as runner:
        planted = await runner.run(sandbox_jobs(first))
        seen = await runner.run(sandbox_jobs(second))
        assert runner.warm_claims == 2
    assert planted.stdout == "planted\n", planted
    lines = seen.stdout.splitlines()
    assert lines[0] == "['.build', 'out'] [] None", seen
    assert marker not in seen.stdout
    assert host_pids_with(marker) == []  # the planted process died with its sandbox


async def test_the_pool_refills_within_its_memory_budget(
    sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    # A budget of 1 MiB: an idle Python sandbox holds several, so only one is ever kept.
    async with warm_runner(tmp_path / "warm", size=3, memory_mb=1) as runner:
        assert runner.warm_idle == 1
        first = await runner.run(sandbox_jobs("print(1)"))
        await runner.warm_up()
        assert runner.warm_idle == 1
        second = await runner.run(sandbox_jobs("print(2)"))
        assert runner.warm_claims == 2
    assert (first.stdout, second.stdout) == ("1\n", "2\n")


async def test_a_job_the_pool_cannot_serve_runs_cold(
    sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    async with warm_runner(tmp_path / "warm") as runner:
        other_tmp = await runner.run(sandbox_jobs("print('cold')", tmp_mb=8))
        assert runner.warm_claims == 0
    assert other_tmp.stdout == "cold\n"


async def test_a_cancel_before_the_program_ends_kills_a_warm_run(
    sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    async with warm_runner(tmp_path / "warm") as runner:
        job = sandbox_jobs("import time\nprint('up', flush=True)\ntime.sleep(30)")
        running = asyncio.create_task(runner.run(job))
        await asyncio.sleep(0.5)
        assert await runner.cancel(job.execution_id)
        result = await asyncio.wait_for(running, 10)
        assert runner.warm_claims == 1
    assert result.end_reason is EndReason.CANCELLED, result


async def test_closing_while_the_pool_makes_a_folder_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # close() cancels the filler; the thread making the folder is not stopped by that and
    # finishes after it, so the folder must still be removed (CI once found one left).
    entered, release, made = threading.Event(), threading.Event(), threading.Event()
    make = Workdir.make

    def slow_make(*args: Any, **kwargs: Any) -> Workdir:
        entered.set()
        release.wait(10)
        try:
            return make(*args, **kwargs)
        finally:
            made.set()

    monkeypatch.setattr(Workdir, "make", slow_make)
    root = tmp_path / "warm"
    runner = LocalSandboxRunner(warm_runner_settings(root), limit_policy=WARM_POLICY)
    warming = asyncio.create_task(runner.warm_up())
    await asyncio.to_thread(entered.wait, 10)
    closing = asyncio.create_task(runner.close())
    await asyncio.sleep(0.1)  # close() has cancelled the filler; the folder is made after that
    release.set()
    await asyncio.wait_for(closing, 30)
    warming.cancel()
    await asyncio.to_thread(made.wait, 10)
    assert left_behind(root) == [], "sandbox folders left behind"
