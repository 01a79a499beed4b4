"""sandpod benchmarks: sandbox start, API latency and throughput, idle memory.

Every figure is reported beside a baseline measured in the same run (the machines are shared and
noisy), so read the ratios, not the absolute numbers:

  a  bare interpreter start        python3.12 on the hello-world script, no sandbox
  b  raw sandbox start             the local runner, called directly (no API, no events), cold:
                                   no warm pool
  bw raw warm sandbox start        the same in a warm sandbox (the pool full before each run)
  b' raw sandbox start, live output the local runner with its output chunked into an in-memory
                                   log as it is read (what live output adds to a hello-world)
  c  submit-to-result latency      POST /executions, then the SSE stream until the terminal event
  o  submit-to-first-output        the same, until the first `output` event (the hello line)
  w  run-and-wait latency          POST /executions?wait=5: the result in one round trip
     (c, o and w at concurrency 1 wait, untimed, for the server's warm pool to be full before
     each sample, as bw does, and say how many samples ran warm)
  d  sustained throughput          executions per second at concurrency 8 through the API:
                                   submit + SSE (d), and run-and-wait (dw)
  e  per language                  each runtime the local runner has: raw start (b) and
                                   submit-to-result (c, embedded) p50 of its example, and
                                   their ratio; compiled languages include their compile step

The load generator is a raw keep-alive HTTP client (rawhttp.py), not httpx: the client shares
the server's cores, and httpx's own CPU per request would count against the server.

Run with `make bench` (or `cd backend && uv run python ../bench/bench.py --help`).
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

import rawhttp
from sandpod.adapters.memory.output_log import InMemoryOutputLog
from sandpod.adapters.sandbox import LocalSandboxRunner, build_local_runner
from sandpod.config import Settings
from sandpod.domain.runtimes import python
from sandpod.ports import SandboxJob
from sandpod.services.output import ChunkPolicy, OutputRecorder

HELLO = "print('hello from sandpod')\n"
RUNTIME = "python:3.12"
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figures:
    samples: int
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> "Figures":
        ordered = sorted(seconds)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return cls(len(ordered), statistics.median(ordered) * 1000, p99 * 1000)


@dataclass
class ModeFigures:
    c1: Figures
    c8: Figures
    rate_c8: float
    idle_rss_mb: float
    w1: Figures
    o1: Figures
    rate_c8_wait: float = 0.0  # dw: run-and-wait at concurrency 8
    warm_samples: str = ""  # how many of the c, w and o samples claimed a warm sandbox


@dataclass
class Report:
    bare_interpreter: Figures
    raw_sandbox: Figures
    raw_sandbox_rate_2_parallel: float
    raw_sandbox_live_output: Figures | None = None
    raw_warm_sandbox: Figures | None = None
    modes: dict[str, ModeFigures] = field(default_factory=dict)
    languages: dict[str, "LanguageFigures"] = field(default_factory=dict)


@dataclass
class LanguageFigures:
    raw: Figures
    submit_to_result: Figures | None = None

    @property
    def ratio(self) -> float | None:
        if self.submit_to_result is None:
            return None
        return self.submit_to_result.p50_ms / self.raw.p50_ms


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bare_interpreter(runs: int) -> Figures:
    interpreter = next(
        str(path)
        for path in (
            shutil.which("python3.12"),
            *Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"),
        )
        if path
    )
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(HELLO)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([interpreter, "-I", "-u", script.name], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    os.unlink(script.name)
    return Figures.of(times)


def local_runner(settings: Settings, *, warm: bool) -> LocalSandboxRunner:
    """The local runner with its warm pool (2 Python sandboxes) or without one (cold starts)."""
    pool = {"warm_pool_size": 2 if warm else 0, "warm_pool_runtimes": ["python:3.12"]}
    return build_local_runner(settings.local_runner.model_copy(update=pool))


async def raw_sandbox(runs: int) -> tuple[Figures, float]:
    """Cold starts (no warm pool), one at a time, then with 2 parallel starters (the throughput
    ceiling of cold starts on 2 cores)."""
    settings = Settings()
    runner = local_runner(settings, warm=False)
    limits = settings.executions.limit_policy.defaults

    def job(index: int) -> SandboxJob:
        return SandboxJob(f"bench-{index}-{time.monotonic_ns()}", python("3.12"), HELLO, "", limits)

    times = []
    try:
        for index in range(runs):
            started = time.perf_counter()
            result = await runner.run(job(index))
            times.append(time.perf_counter() - started)
            assert result.stdout == "hello from sandpod\n", result
        started = time.perf_counter()

        async def starter(offset: int) -> None:
            for index in range(runs // 2):
                await runner.run(job(10_000 + offset * 1000 + index))

        await asyncio.gather(starter(0), starter(1))
        rate = (runs // 2 * 2) / (time.perf_counter() - started)
    finally:
        await runner.close()
    return Figures.of(times), rate


async def raw_warm_sandbox(runs: int) -> Figures:
    """`b` in a warm sandbox: the pool is full before each sample (not timed), so every run
    claims one; what a submission finds when the pool keeps up."""
    settings = Settings()
    runner = local_runner(settings, warm=True)
    limits = settings.executions.limit_policy.defaults
    times = []
    try:
        for index in range(runs):
            await runner.warm_up()
            claims = runner.warm_claims
            job = SandboxJob(
                f"bench-w{index}-{time.monotonic_ns()}", python("3.12"), HELLO, "", limits
            )
            started = time.perf_counter()
            result = await runner.run(job)
            times.append(time.perf_counter() - started)
            assert result.stdout == "hello from sandpod\n", result
            assert runner.warm_claims == claims + 1, "a warm sample started cold"
    finally:
        await runner.close()
    return Figures.of(times)


async def raw_languages(runs: int) -> dict[str, LanguageFigures]:
    """Each runtime's example, straight on the local runner, with that runtime's default limits."""
    settings = Settings()
    runner = build_local_runner(settings.local_runner)
    figures = {}
    try:
        for entry in runner.runtimes():
            limits = entry.limits.policy(settings.executions.limit_policy).defaults
            times = []
            for index in range(runs):
                job = SandboxJob(
                    f"bench-{entry.language}-{index}-{time.monotonic_ns()}",
                    entry,
                    entry.example,
                    entry.example_stdin,
                    limits,
                )
                started = time.perf_counter()
                result = await runner.run(job)
                times.append(time.perf_counter() - started)
                if result.stdout != entry.example_stdout:
                    raise RuntimeError(f"{entry.id} example printed {result.stdout!r}: {result}")
            figures[entry.id] = LanguageFigures(Figures.of(times))
            print(f"e  {entry.id}: raw p50 {figures[entry.id].raw.p50_ms:.0f} ms", file=sys.stderr)
    finally:
        await runner.close()
    return figures


async def languages_through_api(
    url: str, headers: dict[str, str], figures: dict[str, LanguageFigures], runs: int
) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120, headers=headers) as http:
        catalogue = {item["id"]: item for item in (await http.get("/api/v1/runtimes")).json()}
        for runtime_id, entry in figures.items():
            body = {
                "runtime": runtime_id,
                "script": catalogue[runtime_id]["example"],
                "stdin": catalogue[runtime_id]["example_stdin"],
            }
            times = [await submit_and_wait(http, body) for _ in range(runs)]
            entry.submit_to_result = Figures.of(times)


async def raw_sandbox_live_output(runs: int) -> Figures:
    """`b` with the output chunked as it is read: the runner's share of live output."""
    settings = Settings()
    runner = local_runner(settings, warm=False)  # beside b: the same cold start
    limits = settings.executions.limit_policy.defaults
    log = InMemoryOutputLog()
    times = []
    for index in range(runs):
        execution_id = f"bench-live-{index}-{time.monotonic_ns()}"
        started = time.perf_counter()
        recorder = OutputRecorder(log, execution_id, ChunkPolicy())
        job = SandboxJob(execution_id, python("3.12"), HELLO, "", limits, output=recorder)
        result = await runner.run(job)
        await recorder.close()
        times.append(time.perf_counter() - started)
        assert result.stdout == "hello from sandpod\n", result
    await runner.close()
    return Figures.of(times)


async def submit_and_wait(
    http: httpx.AsyncClient, body: dict[str, str] | None = None, *, first_output: bool = False
) -> float:
    """Submit hello-world and follow its events until the end (or its first output)."""
    started = time.perf_counter()
    response = await http.post(
        "/api/v1/executions", json=body or {"runtime": RUNTIME, "script": HELLO}
    )
    response.raise_for_status()
    execution_id = response.json()["id"]
    status = ""
    async with http.stream("GET", f"/api/v1/executions/{execution_id}/events") as stream:
        async for line in stream.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = json.loads(line[5:])
            if first_output and "seq" in data:
                return time.perf_counter() - started
            if data.get("status") not in (None, "queued", "running"):
                status = data["status"]
                break
    elapsed = time.perf_counter() - started
    if status != "completed":
        raise RuntimeError(f"{execution_id} ended {status or 'without output'}")
    return elapsed


HELLO_BODY = {"runtime": RUNTIME, "script": HELLO}


async def raw_submit_and_follow(conn: rawhttp.Connection, *, first_output: bool = False) -> float:
    """`submit_and_wait` on the raw client: POST, then the events on the same connection."""
    started = time.perf_counter()
    response = await conn.request("POST", "/api/v1/executions", HELLO_BODY)
    if response.status != 202:
        raise RuntimeError(f"submit answered {response.status}: {response.body!r}")
    execution_id = response.json()["id"]
    status, elapsed = "", 0.0
    events = conn.stream(f"/api/v1/executions/{execution_id}/events")
    async with contextlib.aclosing(events):
        async for line in events:
            if not line.startswith(b"data:"):
                continue
            data = json.loads(line[5:])
            if first_output and "seq" in data:
                return time.perf_counter() - started  # the connection closes: the rest is left
            if data.get("status") not in (None, "queued", "running"):
                status, elapsed = data["status"], time.perf_counter() - started
            # read on to the stream's end (it closes after the terminal event): keep-alive
    if status != "completed":
        raise RuntimeError(f"{execution_id} ended {status or 'without output'}")
    return elapsed


async def raw_run_and_wait(conn: rawhttp.Connection) -> float:
    started = time.perf_counter()
    response = await conn.request("POST", "/api/v1/executions?wait=5", HELLO_BODY)
    elapsed = time.perf_counter() - started
    if response.status != 200 or response.json()["status"] != "completed":
        raise RuntimeError(f"run-and-wait answered {response.status}: {response.body!r}")
    return elapsed


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return None


async def warm_figures(conn: rawhttp.Connection) -> tuple[float, float] | None:
    """The server's warm pool (idle, claims so far) from /metrics; None without one here."""
    text = (await conn.request("GET", "/metrics")).body.decode()
    idle = metric(text, "sandpod_warm_sandboxes_idle")
    claims = metric(text, "sandpod_warm_claims_total")
    return None if idle is None or claims is None else (idle, claims)


async def pool_full(conn: rawhttp.Connection, size: int, timeout: float = 30) -> None:
    """Return once the server's warm pool is full (or has none, or `timeout` passed)."""
    deadline = time.monotonic() + timeout
    while (figures := await warm_figures(conn)) is not None and figures[0] < size:
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.01)  # untimed; the refill takes a few cold starts' time


async def one_at_a_time(
    url: str, runs: int, headers: dict[str, str], sample: str, warm: list[str]
) -> Figures:
    """`runs` samples of `sample` ("c", "w" or "o"), the warm pool full before each; appends
    to `warm` how many of them claimed a warm sandbox."""
    size = Settings().local_runner.warm_pool_size  # the server reads the same environment

    async def once(conn: rawhttp.Connection) -> float:
        if sample == "w":
            return await raw_run_and_wait(conn)
        return await raw_submit_and_follow(conn, first_output=sample == "o")

    async with (
        rawhttp.Connection(url, headers) as conn,
        rawhttp.Connection(url, headers) as metrics,
    ):
        for _ in range(3):  # warm-up
            await once(conn)
        times = []
        before = await warm_figures(metrics)
        for _ in range(runs):
            await pool_full(metrics, size)
            times.append(await once(conn))
        after = await warm_figures(metrics)
    if before is not None and after is not None:
        warm.append(f"{sample} {after[1] - before[1]:.0f}/{runs}")
    return Figures.of(times)


async def concurrent(
    url: str, concurrency: int, total: int, headers: dict[str, str], *, wait: bool
) -> tuple[Figures, float]:
    """Latency figures and sustained executions/second with `concurrency` clients, each on its
    own keep-alive connection: submit + SSE, or run-and-wait (`wait`)."""
    times: list[float] = []
    remaining = total

    async def once(conn: rawhttp.Connection) -> float:
        return await (raw_run_and_wait(conn) if wait else raw_submit_and_follow(conn))

    async def client(conn: rawhttp.Connection) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            times.append(await once(conn))

    conns = [rawhttp.Connection(url, headers) for _ in range(concurrency)]
    try:
        await asyncio.gather(*(once(conn) for conn in conns))  # warm-up, untimed
        started = time.perf_counter()
        await asyncio.gather(*(client(conn) for conn in conns))
        rate = len(times) / (time.perf_counter() - started)
    finally:
        await asyncio.gather(*(conn.close() for conn in conns))
    return Figures.of(times), rate


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# Generous: on the shared 2-core machines a server under load has taken over 30 s to start.
async def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/api/v1/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.2)  # readiness poll interval, bounded by the deadline above
    raise TimeoutError(f"{url} not ready after {timeout} s")


@contextlib.asynccontextmanager
async def processes(
    commands: list[list[str]], env: dict[str, str]
) -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    logs = ROOT / "artifacts" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = []
    for command in commands:
        name = "-".join(command[3:])
        with (logs / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            started.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        yield started
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


async def measure_mode(
    name: str,
    env: dict[str, str],
    commands: list[list[str]],
    url: str,
    runs: int,
    languages: dict[str, LanguageFigures] | None = None,
) -> ModeFigures:
    async with processes(commands, env) as started:
        await wait_ready(url, started[0])
        await asyncio.sleep(1)  # let start-up work settle before reading the idle RSS
        idle_rss = rss_mb(started[0].pid)
        headers = await sign_in(url, env)
        warm: list[str] = []
        c1 = await one_at_a_time(url, runs, headers, "c", warm)
        c8, rate8 = await concurrent(url, 8, runs * 2, headers, wait=False)
        _, rate8_wait = await concurrent(url, 8, runs * 2, headers, wait=True)
        w1 = await one_at_a_time(url, runs, headers, "w", warm)
        o1 = await one_at_a_time(url, runs, headers, "o", warm)
        if languages:
            print("e  each language through the API ...", file=sys.stderr)
            await languages_through_api(url, headers, languages, max(3, runs // 3))
    return ModeFigures(c1, c8, rate8, idle_rss, w1, o1, rate8_wait, ", ".join(warm))


# A benchmark measures the platform, not its abuse protection: 0 turns a rate budget off.
NO_RATE_LIMITS = {
    f"SANDPOD_RATE_LIMIT_{kind}_PER_{who}": "0"
    for kind in ("SUBMIT", "READ")
    for who in ("USER", "IP")
}


# Distributed mode always authenticates: the benchmark signs in as a seeded admin.
BENCH_ADMIN = {
    "SANDPOD_ADMIN_USERNAME": "bench-admin",
    "SANDPOD_ADMIN_PASSWORD": "bench password, long enough",
    "SANDPOD_JWT_SECRET": "bench-only-secret-" + "0" * 32,
}


async def sign_in(url: str, env: dict[str, str]) -> dict[str, str]:
    if "SANDPOD_ADMIN_PASSWORD" not in env:
        return {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post(
            "/api/v1/auth/login",
            json={
                "username": env["SANDPOD_ADMIN_USERNAME"],
                "password": env["SANDPOD_ADMIN_PASSWORD"],
            },
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def sandpod_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sandpod", *args]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30, help="samples per figure")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="also measure distributed mode (needs make services-up)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "artifacts" / "bench.json")
    parser.add_argument(
        "--no-languages", action="store_true", help="skip the per-language figures (e)"
    )
    args = parser.parse_args()

    print(f"a  bare interpreter start ({args.runs} runs) ...", file=sys.stderr)
    bare = bare_interpreter(args.runs)
    print(f"b  raw sandbox start ({args.runs} runs) ...", file=sys.stderr)
    report = Report(bare, *await raw_sandbox(args.runs))
    print(f"bw raw warm sandbox start ({args.runs} runs) ...", file=sys.stderr)
    report.raw_warm_sandbox = await raw_warm_sandbox(args.runs)
    print(f"b' raw sandbox start with live output ({args.runs} runs) ...", file=sys.stderr)
    report.raw_sandbox_live_output = await raw_sandbox_live_output(args.runs)
    if not args.no_languages:
        print("e  each language, raw ...", file=sys.stderr)
        # Fewer samples: compiled languages take seconds each.
        report.languages = await raw_languages(max(3, args.runs // 3))

    port = free_port()
    env = {
        **os.environ,
        **NO_RATE_LIMITS,
        "SANDPOD_MODE": "embedded",
        "SANDPOD_PORT": str(port),
        "SANDPOD_LOG_LEVEL": "WARNING",
    }
    print("c,d embedded mode through the API ...", file=sys.stderr)
    report.modes["embedded"] = await measure_mode(
        "embedded",
        env,
        [sandpod_command("run")],
        f"http://127.0.0.1:{port}",
        args.runs,
        report.languages,
    )
    if args.distributed:
        print("c,d distributed mode through the API ...", file=sys.stderr)
        port = free_port()
        suffix = f"bench{os.getpid()}"
        env = {
            **os.environ,
            **NO_RATE_LIMITS,
            **BENCH_ADMIN,
            "SANDPOD_MODE": "distributed",
            "SANDPOD_PORT": str(port),
            "SANDPOD_LOG_LEVEL": "WARNING",
            "SANDPOD_MONGO_DATABASE": f"sandpod_{suffix}",
            "SANDPOD_REDIS_PREFIX": f"{suffix}:",
            "SANDPOD_KAFKA_TOPIC_PREFIX": f"{suffix}.",
            "SANDPOD_SCHEMA_SUBJECT_PREFIX": f"{suffix}.",
        }
        report.modes["distributed"] = await measure_mode(
            "distributed",
            env,
            [
                sandpod_command("api"),
                sandpod_command("worker", "runner"),
                sandpod_command("worker", "results"),
            ],
            f"http://127.0.0.1:{port}",
            args.runs,
        )
    # The machines are shared: measure the raw ceiling again after the API runs and use the mean,
    # so a load change during the run does not skew the throughput ratio one way.
    print("b  raw sandbox rate again ...", file=sys.stderr)
    _, rate_after = await raw_sandbox(args.runs)
    report.raw_sandbox_rate_2_parallel = (report.raw_sandbox_rate_2_parallel + rate_after) / 2
    print_report(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    saved = asdict(report)
    for runtime_id, entry in report.languages.items():
        saved["languages"][runtime_id]["ratio"] = entry.ratio
    args.output.write_text(json.dumps(saved, indent=2))
    print(f"\nwrote {args.output}", file=sys.stderr)


def print_report(report: Report) -> None:
    a, b = report.bare_interpreter.p50_ms, report.raw_sandbox.p50_ms
    ceiling = report.raw_sandbox_rate_2_parallel
    print(f"\n{'figure':44} {'p50 ms':>9} {'p99 ms':>9}")
    print(f"{'a  bare interpreter start':44} {a:9.1f} {report.bare_interpreter.p99_ms:9.1f}")
    print(f"{'b  raw sandbox start':44} {b:9.1f} {report.raw_sandbox.p99_ms:9.1f}")
    print(f"   raw sandbox starts/s, 2 parallel starters (mean of before/after): {ceiling:.1f}")
    print(f"   sandbox overhead b - a: {b - a:.1f} ms (b/a = {b / a:.2f})")
    warm = report.raw_warm_sandbox
    if warm is not None:
        print(f"{'bw raw warm sandbox start':44} {warm.p50_ms:9.1f} {warm.p99_ms:9.1f}")
        print(f"   bw/a = {warm.p50_ms / a:.2f}   bw/b = {warm.p50_ms / b:.2f}")
    live = report.raw_sandbox_live_output
    if live is not None:
        print(f"{"b' raw sandbox start, live output":44} {live.p50_ms:9.1f} {live.p99_ms:9.1f}")
        print(
            f"   live output's share b' - b: {live.p50_ms - b:.1f} ms "
            f"(b'/b = {live.p50_ms / b:.2f})"
        )
    for mode, figures in report.modes.items():
        c1, c8 = figures.c1, figures.c8
        target = 1.5 * b + 10
        print(f"\n[{mode}]")
        print(f"{'c  submit-to-result, concurrency 1':44} {c1.p50_ms:9.1f} {c1.p99_ms:9.1f}")
        print(f"{'c  submit-to-result, concurrency 8':44} {c8.p50_ms:9.1f} {c8.p99_ms:9.1f}")
        w1 = figures.w1
        print(f"{'w  run-and-wait (?wait=5), concurrency 1':44} {w1.p50_ms:9.1f} {w1.p99_ms:9.1f}")
        o1 = figures.o1
        print(f"{'o  submit-to-first-output, concurrency 1':44} {o1.p50_ms:9.1f} {o1.p99_ms:9.1f}")
        print(f"   c/b = {c1.p50_ms / b:.2f}   c/a = {c1.p50_ms / a:.2f}")
        verdict = "met" if c1.p50_ms <= target else "MISSED"
        print(f"   target c1 p50 <= 1.5 b + 10 ms = {target:.1f} ms: {verdict}")
        if figures.warm_samples:
            print(f"   samples in a warm sandbox: {figures.warm_samples}")
        print(f"   w/a = {w1.p50_ms / a:.2f}   (target <= 0.5 with warm sandboxes)")
        ratio = figures.rate_c8 / ceiling
        print(f"d  sustained, concurrency 8: {figures.rate_c8:.1f}/s = {ratio:.2f} x raw (>= 0.9)")
        ratio = figures.rate_c8_wait / ceiling
        print(f"dw same, run-and-wait: {figures.rate_c8_wait:.1f}/s = {ratio:.2f} x raw (>= 0.9)")
        print(f"   idle server RSS: {figures.idle_rss_mb:.0f} MB (target <= 120)")
    if report.languages:
        print(
            f"\n{'e  runtime (embedded)':24} {'raw p50 ms':>11} {'submit p50 ms':>14} {'ratio':>6}"
        )
        for runtime_id, entry in report.languages.items():
            submit = entry.submit_to_result
            through = f"{submit.p50_ms:14.0f}" if submit else f"{'-':>14}"
            shown = f"{entry.ratio:6.2f}" if entry.ratio else f"{'-':>6}"
            print(f"   {runtime_id:21} {entry.raw.p50_ms:11.0f} {through} {shown}")
    if {"embedded", "distributed"} <= set(report.modes):
        ratio = report.modes["distributed"].c1.p50_ms / report.modes["embedded"].c1.p50_ms
        print(f"\ndistributed p50 / embedded p50 = {ratio:.2f} (target <= 3)")


if __name__ == "__main__":
    asyncio.run(main())
