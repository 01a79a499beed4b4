"""The local runner's cold path, step by step, beside the same program run bare.

  C       a prebuilt C hello-world: the sandbox's own cost, the program costs next to nothing
  Python  python3.12 -I -u on a hello-world script: what a typical submission pays

For each: the bare start (a subprocess from this process, no sandbox), the raw sandbox start
(LocalSandboxRunner.run, no API), their difference (the sandbox's overhead, the figure the
issue's target is about: <= 6 ms p50 for C) and the p50 of each step of the sandbox (timing.py):

  prepare  execution folder, files, /tmp tmpfs      spawn    bubblewrap's process created
  cgroup   the execution's cgroups made + limited    child    bwrap reports its sandbox init
  confine  init moved into the cgroups, prlimit      program  released until the exit status
  reap     sandbox killed, pipes read to the end     collect  /tmp/out read (if not empty)
  claim    (warm) the job's limits set, its program sent

Cleanup (cgroups, tmpfs, folder) happens after the result is returned and is not timed here.
"Py warm" runs the same Python hello-world in a warm sandbox (warm.py): the interpreter was
started before the submission; the pool is refilled between runs (concurrency 1).

Run with `make bench-cold` (or `cd backend && uv run python ../bench/bench_cold.py --help`).
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sandpod.adapters.sandbox import LocalSandboxRunner, build_local_runner
from sandpod.adapters.sandbox.timing import Laps
from sandpod.adapters.sandbox.toolchains import Toolchain, discover_on_host
from sandpod.config import Settings
from sandpod.domain.runtimes import CATALOGUE, Runtime, python
from sandpod.ports import SandboxJob

ROOT = Path(__file__).resolve().parents[1]
C_HELLO = '#include <stdio.h>\nint main(void) { puts("hello from sandpod"); return 0; }\n'
PY_HELLO = "print('hello from sandpod')\n"
STEPS = (
    "prepare",
    "claim",
    "cgroup",
    "spawn",
    "child",
    "confine",
    "program",
    "reap",
    "collect",
)


def p50_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def bare(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def prebuilt_c(folder: Path) -> tuple[Runtime, Toolchain, Path]:
    """The catalogue's C runtime with its compile step done here once: `hello` in `folder`."""
    source = folder / "hello.c"
    source.write_text(C_HELLO)
    binary = folder / "hello"
    subprocess.run(["cc", "-O2", "-o", str(binary), str(source)], check=True)
    folder.chmod(0o755)  # the sandbox user reads it through a bind mount
    catalogue_c = next(entry for entry in CATALOGUE if entry.language == "c")
    runtime = catalogue_c.model_copy(
        update={"id": "c:prebuilt", "compile": None, "command": ("hello",)}
    )
    toolchain = Toolchain(
        runtime_id=runtime.id,
        programs={"hello": binary},
        binds=(folder,),
        toolchains_dir=folder,
        installed_version="prebuilt",
    )
    return runtime, toolchain, binary


async def sandboxed(
    runtime: Runtime, toolchain: Toolchain, script: str, runs: int, *, warm: bool = False
) -> tuple[list[float], dict[str, list[float]]]:
    """The runner on `script`; with `warm`, each run claims a warm sandbox (the pool refilled
    before the next run: concurrency 1, a pool that keeps up)."""
    settings = Settings()
    steps: dict[str, list[float]] = {step: [] for step in STEPS}

    def record(laps: Laps) -> None:
        for step, seconds in laps.items():
            steps.setdefault(step, []).append(seconds)

    build_local_runner(settings.local_runner)  # the host checks and the stale-state sweep
    runner = LocalSandboxRunner(
        settings.local_runner.model_copy(
            update={"warm_pool_size": 1 if warm else 0, "warm_pool_runtimes": [runtime.id]}
        ),
        toolchains={runtime.id: toolchain},
        catalogue=[runtime],
        on_laps=record,
        limit_policy=settings.executions.limit_policy,
    )
    limits = runtime.limits.policy(settings.executions.limit_policy).defaults
    times = []
    try:
        for index in range(runs + 3):
            job = SandboxJob(f"cold-{index}-{time.monotonic_ns()}", runtime, script, "", limits)
            await runner.warm_up()
            claims = runner.warm_claims
            started = time.perf_counter()
            result = await runner.run(job)
            elapsed = time.perf_counter() - started
            if result.stdout != "hello from sandpod\n":
                raise RuntimeError(f"{runtime.id} printed {result.stdout!r}: {result}")
            if warm and runner.warm_claims != claims + 1:
                raise RuntimeError("a run meant to be warm started cold")
            if index >= 3:  # the first runs set up the runner's shared context
                times.append(elapsed)
            else:
                for values in steps.values():
                    values.clear()
    finally:
        await runner.close()
    return times, steps


def row(
    name: str, bare_times: list[float], times: list[float], steps: dict[str, list[float]]
) -> dict[str, float]:
    figures = {
        "bare_p50_ms": p50_ms(bare_times),
        "sandbox_p50_ms": p50_ms(times),
        "sandbox_p99_ms": sorted(times)[round(0.99 * (len(times) - 1))] * 1000,
    }
    figures["overhead_p50_ms"] = figures["sandbox_p50_ms"] - figures["bare_p50_ms"]
    figures.update({f"{step}_p50_ms": p50_ms(v) for step, v in steps.items() if v})
    print(
        f"{name:8} bare {figures['bare_p50_ms']:6.1f}  sandbox {figures['sandbox_p50_ms']:6.1f}"
        f" (p99 {figures['sandbox_p99_ms']:.1f})  overhead {figures['overhead_p50_ms']:5.1f} ms"
        f"  ratio {figures['sandbox_p50_ms'] / figures['bare_p50_ms']:.2f}"
    )
    print("         " + "  ".join(f"{s} {p50_ms(v):.1f}" for s, v in steps.items() if v))
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40, help="samples per figure")
    parser.add_argument("--output", type=Path, default=ROOT / "artifacts" / "bench-cold.json")
    args = parser.parse_args()
    report: dict[str, dict[str, float]] = {}
    # Not under /tmp: the sandbox's own /tmp would hide the binary's folder.
    with tempfile.TemporaryDirectory(prefix="sandpod-bench-cold-", dir="/var/tmp") as folder:  # nosec B108
        c_runtime, c_toolchain, binary = prebuilt_c(Path(folder))
        py_runtime = python("3.12")
        py_toolchain = discover_on_host([py_runtime], Settings().local_runner.toolchains_dir)[
            py_runtime.id
        ]
        script = Path(folder) / "hello.py"
        script.write_text(PY_HELLO)
        interpreter = str(py_toolchain.programs["python3.12"])
        cases: list[tuple[str, Callable[[], list[float]], Runtime, Toolchain, str]] = [
            ("C", lambda: bare([str(binary)], args.runs), c_runtime, c_toolchain, ""),
            (
                "Python",
                lambda: bare([interpreter, "-I", "-u", str(script)], args.runs),
                py_runtime,
                py_toolchain,
                PY_HELLO,
            ),
        ]
        print(f"p50 of {args.runs} runs each, ms; steps of the sandbox start:")
        for name, measure_bare, runtime, toolchain, source in cases:
            bare_times = measure_bare()
            times, steps = await sandboxed(runtime, toolchain, source, args.runs)
            report[name] = row(name, bare_times, times, steps)
        print("warm sandboxes (the pool's interpreter already started):")
        warm_times, warm_steps = await sandboxed(
            py_runtime, py_toolchain, PY_HELLO, args.runs, warm=True
        )
        report["Python warm"] = row("Py warm", cases[1][1](), warm_times, warm_steps)
    c_overhead = report["C"]["overhead_p50_ms"]
    verdict = "met" if c_overhead <= 6 else "MISSED"
    print(f"target: C sandbox overhead p50 <= 6 ms: {c_overhead:.1f} ms, {verdict}")
    warm_ratio = report["Python warm"]["sandbox_p50_ms"] / report["Python warm"]["bare_p50_ms"]
    print(f"warm Python hello-world / bare interpreter start: {warm_ratio:.2f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
