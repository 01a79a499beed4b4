"""Soak: thousands of distributed executions at a steady rate while a chaos loop breaks things.

The distributed processes (API, runner worker, result processor) run under a small supervisor.
While executions are submitted at a steady rate, a chaos loop SIGKILLs one of them at random
moments and starts it again at once (as an orchestrator would), and, when given a private
services directory, restarts Kafka, Redis and FerretDB once each (services.sh restart). Then it
waits for every execution to end and checks:

  lost         an accepted execution that is missing from the store or never ended
  transitions  the stored transition counter (`version`): exactly one terminal change, after a
               start or none (queued -> running -> end is 2, queued -> end is 1); more is a
               second terminal state
  ran twice    each script prints its own marker; the side channel is the lifecycle topic, read
               back from the start: a `finished` event carries the script's output, and more
               than one distinct result for an execution means it ran to the end twice (a
               publish retried after a timeout repeats the same result, which is no rerun). A
               run cut short by a killed runner leaves a `started` without a `finished` and is
               run again: counted as a rerun, not as ran twice
  output       a completed execution's stdout is exactly its own marker

Submissions carry an Idempotency-Key and are retried (connection refused while the API is down,
503 while a service is away) until answered; an execution counts as accepted when the API says
so. Latency is the stored submit-to-end time (created_at to finished_at); the table and the plot
give p50/p99 and the rates per time bucket, with the chaos events marked.

Run with `make soak` (10,000 executions over ~10 minutes, private services) or `make soak-short`.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from bench import BENCH_ADMIN, NO_RATE_LIMITS, ROOT, free_port, sandpod_command, wait_ready
from sandpod.adapters.kafka.codec import EventCodec
from sandpod.adapters.kafka.registry import ConfluentSchemaRegistry
from sandpod.adapters.kafka.topics import lifecycle_topic, subject_for
from sandpod.adapters.mongo.store import OPEN_COLLECTION
from sandpod.domain.events import ExecutionFinished, ExecutionStarted

ROLES = {
    "api": ("api",),
    "runner": ("worker", "runner"),
    "results": ("worker", "results"),
}
SERVICES = ("kafka", "redis", "mongo")
RETRY_STATUSES = frozenset({401, 409, 429, 500, 502, 503, 504})
TERMINAL = frozenset({"completed", "failed", "timed_out", "cancelled", "errored"})


def marker(index: int) -> str:
    return f"soak-marker {index}"


@dataclass
class Accepted:
    index: int
    execution_id: str
    attempts: int


@dataclass
class Verdict:
    submitted: int
    accepted: int
    not_accepted: int
    stored: int
    lost: list[str] = field(default_factory=list)
    bad_transitions: list[str] = field(default_factory=list)
    ran_twice: list[str] = field(default_factory=list)
    wrong_output: list[str] = field(default_factory=list)
    # Stored executions no client saw accepted: a request stored (and run) a second time under
    # another id, as a retry does when the first write's answer was lost and its key released.
    stored_twice: list[str] = field(default_factory=list)
    reruns: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    swept: int = 0

    @property
    def ok(self) -> bool:
        faults = (
            self.lost,
            self.bad_transitions,
            self.ran_twice,
            self.wrong_output,
            self.stored_twice,
        )
        return self.not_accepted == 0 and not any(faults)


class Supervisor:
    """The distributed processes, each restarted at once when the chaos loop kills it."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self._env = env
        self._logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, role: str) -> None:
        self._logs.mkdir(parents=True, exist_ok=True)
        with (self._logs / f"{role}.log").open("ab") as log:  # the child keeps its own copy
            self.processes[role] = subprocess.Popen(
                sandpod_command(*ROLES[role]), env=self._env, stdout=log, stderr=subprocess.STDOUT
            )

    async def keep_running(self, exits: Counter[str]) -> None:
        """Start again a process that exited by itself, as an orchestrator would: a role that
        starts while a service it needs is away says so and exits."""
        delay = dict.fromkeys(ROLES, 1.0)
        while True:
            for role, process in list(self.processes.items()):
                if process.poll() is not None:
                    exits[role] += 1
                    self.start(role)
                    delay[role] = min(delay[role] * 2, 8.0)
            await asyncio.sleep(min(delay.values()))  # restart backoff, as an orchestrator's

    def kill_and_restart(self, role: str) -> None:
        process = self.processes[role]
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.start(role)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Client:
    """The API as a patient user sees it: retries until answered, signs in again on a 401."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        self._env = env
        self._http = httpx.AsyncClient(
            base_url=url, timeout=30, limits=httpx.Limits(max_connections=64)
        )
        self._token: str | None = None

    async def close(self) -> None:
        await self._http.aclose()

    async def _sign_in(self) -> None:
        response = await self._http.post(
            "/api/v1/auth/login",
            json={
                "username": self._env["SANDPOD_ADMIN_USERNAME"],
                "password": self._env["SANDPOD_ADMIN_PASSWORD"],
            },
        )
        response.raise_for_status()
        self._token = response.json()["access_token"]

    async def submit(self, index: int, run_id: str, give_up_after: float) -> Accepted | str:
        """The accepted execution, or why it never was."""
        body = {"runtime": "python:3.12", "script": f"print({marker(index)!r})\n"}
        key = f"{run_id}-{index}"
        deadline = time.monotonic() + give_up_after
        delay, attempts, why = 0.2, 0, "no answer"
        while time.monotonic() < deadline:
            attempts += 1
            try:
                if self._token is None:
                    await self._sign_in()
                response = await self._http.post(
                    "/api/v1/executions",
                    json=body,
                    headers={"Idempotency-Key": key, "Authorization": f"Bearer {self._token}"},
                )
            except httpx.HTTPError as error:
                why = f"{type(error).__name__}: {error}"
            else:
                if response.status_code in (200, 202):
                    return Accepted(index, response.json()["id"], attempts)
                why = f"{response.status_code}: {response.text[:200]}"
                if response.status_code == 401:
                    self._token = None
                elif response.status_code not in RETRY_STATUSES:
                    return why
            await asyncio.sleep(delay)  # retry backoff while the API or a service is away
            delay = min(delay * 2, 2.0)
        return why


async def restart_service(name: str, services_dir: Path) -> str:
    """services.sh restart NAME on the private services; returns how it went."""
    script = ROOT / "scripts" / "services" / "services.sh"
    env = {**os.environ, "SANDPOD_SERVICES_DIR": str(services_dir)}
    process = await asyncio.create_subprocess_exec(
        str(script),
        "restart",
        name,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        return f"restart failed ({process.returncode}): {output.decode()[-300:]}"
    return "restarted"


async def chaos(
    supervisor: Supervisor,
    *,
    duration: float,
    kill_every: float,
    services_dir: Path | None,
    rng: random.Random,
    timeline: list[dict[str, Any]],
    started: float,
) -> None:
    """Kill a random process every ~kill_every seconds; restart each service once."""
    plan: list[tuple[float, str]] = []
    if kill_every > 0:
        at = rng.uniform(0.5, 1.5) * kill_every
        while at < duration:
            plan.append((at, f"kill {rng.choice(list(ROLES))}"))
            at += rng.uniform(0.5, 1.5) * kill_every
    if services_dir is not None:
        for share, name in zip((0.25, 0.5, 0.75), SERVICES, strict=True):
            plan.append((duration * share, f"restart {name}"))
    for at, action in sorted(plan):
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        verb, target = action.split()
        moment = time.monotonic() - started
        if verb == "kill":
            supervisor.kill_and_restart(target)
            outcome = "SIGKILL, started again"
        else:
            assert services_dir is not None
            outcome = await restart_service(target, services_dir)
        timeline.append({"at": round(moment, 1), "action": action, "outcome": outcome})
        print(f"[{moment:6.1f}s] {action}: {outcome}", file=sys.stderr)


async def submit_steadily(
    client: Client,
    *,
    count: int,
    rate: float,
    run_id: str,
    give_up_after: float,
    started: float,
) -> tuple[list[Accepted], list[str]]:
    accepted: list[Accepted] = []
    refused: list[str] = []

    async def one(index: int) -> None:
        outcome = await client.submit(index, run_id, give_up_after)
        if isinstance(outcome, Accepted):
            accepted.append(outcome)
        else:
            refused.append(f"{index}: {outcome}")

    tasks = []
    for index in range(count):
        await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return accepted, refused


async def sample_load(samples: list[tuple[float, float]], started: float) -> None:
    while True:
        samples.append((round(time.monotonic() - started, 1), os.getloadavg()[0]))
        await asyncio.sleep(10)  # the load average itself moves slowly


async def wait_until_all_end(
    executions: Any, open_markers: Any, accepted: int, timeout: float
) -> None:
    """Until the store holds at least every accepted execution and none is unfinished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # FerretDB may be restarting: ask again
            # The store's marker per unfinished execution, not a status filter on the
            # executions: FerretDB would decode all 10,000 of them on every poll.
            if await open_markers.count_documents({}) == 0:
                unfinished = await executions.count_documents(
                    {"status": {"$in": ["queued", "running"]}}
                )
                if unfinished == 0 and await executions.count_documents({}) >= accepted:
                    return
        await asyncio.sleep(2)  # polling the store for the drain, bounded by the deadline


async def lifecycle_counts(
    env: dict[str, str],
) -> tuple[Counter[str], Counter[str], dict[str, str]]:
    """Per execution: started events, finished events with distinct results, and the last
    finished stdout."""
    bootstrap = env["SANDPOD_KAFKA_BOOTSTRAP_SERVERS"]
    topic = lifecycle_topic(env["SANDPOD_KAFKA_TOPIC_PREFIX"])
    registry = ConfluentSchemaRegistry(env["SANDPOD_SCHEMA_REGISTRY_URL"])
    codec = EventCodec(registry, subject_for(env["SANDPOD_SCHEMA_SUBJECT_PREFIX"], topic))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=8 << 20
    )
    started: Counter[str] = Counter()
    finished: Counter[str] = Counter()
    stdout: dict[str, str] = {}
    results: dict[str, set[str]] = {}
    await admin.start()
    await consumer.start()
    try:
        (described,) = await admin.describe_topics([topic])
        parts = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        remaining = {part for part in parts if ends[part] > 0}
        while remaining:
            batch = await consumer.getmany(timeout_ms=2000, max_records=2000)
            for part, records in batch.items():
                for record in records:
                    event = await codec.decode(record.value)
                    if isinstance(event, ExecutionStarted):
                        started[event.execution_id] += 1
                    elif isinstance(event, ExecutionFinished):
                        # A publish retried after a timeout may land twice with the same result;
                        # a second run has its own (times, memory): count distinct results.
                        seen = results.setdefault(event.execution_id, set())
                        if event.result.model_dump_json() not in seen:
                            seen.add(event.result.model_dump_json())
                            finished[event.execution_id] += 1
                        stdout[event.execution_id] = event.result.stdout
                    if record.offset + 1 >= ends[part]:
                        remaining.discard(part)
    finally:
        await consumer.stop()
        await admin.close()
        await registry.close()
    return started, finished, stdout


def verdict(
    submitted: int,
    accepted: list[Accepted],
    refused: list[str],
    stored: list[dict[str, Any]],
    started: Counter[str],
    finished: Counter[str],
    stdout: dict[str, str],
) -> Verdict:
    by_id = {document["_id"]: document for document in stored}
    index_of = {item.execution_id: item.index for item in accepted}
    result = Verdict(
        submitted=submitted, accepted=len(accepted), not_accepted=len(refused), stored=len(stored)
    )
    result.lost = sorted(
        execution_id
        for execution_id in index_of
        if by_id.get(execution_id, {}).get("status") not in TERMINAL
    )
    statuses: Counter[str] = Counter()
    for execution_id, document in by_id.items():
        status = document["status"]
        statuses[status] += 1
        if status not in TERMINAL:
            continue  # an execution no client saw accepted (its answer was lost) yet unfinished
        expected = 2 if document.get("started_at") is not None else 1
        if document.get("version") != expected:
            result.bad_transitions.append(f"{execution_id}: version {document.get('version')}")
        if finished[execution_id] > 1:
            result.ran_twice.append(f"{execution_id}: finished {finished[execution_id]} times")
        result_document = document.get("result") or {}
        if (result_document.get("message") or "").startswith("no worker finished"):
            result.swept += 1
        if status == "completed" and execution_id in index_of:
            want = marker(index_of[execution_id]) + "\n"
            if result_document.get("stdout") != want or stdout.get(execution_id) != want:
                result.wrong_output.append(execution_id)
    result.stored_twice = sorted(
        f"{execution_id}: {(by_id[execution_id].get('result') or {}).get('stdout', '').strip()}"
        for execution_id in by_id
        if execution_id not in index_of
    )
    result.reruns = sum(1 for execution_id in by_id if started[execution_id] > 1)
    result.statuses = dict(statuses)
    return result


@dataclass
class Bucket:
    start_s: int
    accepted: int
    finished: int
    p50_ms: float | None
    p99_ms: float | None


def buckets(stored: list[dict[str, Any]], origin: datetime, width: int) -> list[Bucket]:
    """Per `width` seconds of the run: executions created and finished, and the p50/p99
    submit-to-end latency of those created in it."""
    created: dict[int, list[float]] = {}
    ended: Counter[int] = Counter()
    for document in stored:
        if document.get("finished_at") is None:
            continue
        slot = int((document["created_at"] - origin).total_seconds() // width)
        latency = (document["finished_at"] - document["created_at"]).total_seconds() * 1000
        created.setdefault(slot, []).append(latency)
        ended[int((document["finished_at"] - origin).total_seconds() // width)] += 1
    rows = []
    for slot in range(min(created | ended, default=0), max(created | ended, default=-1) + 1):
        latencies = sorted(created.get(slot, []))
        rows.append(
            Bucket(
                start_s=slot * width,
                accepted=len(latencies),
                finished=ended[slot],
                p50_ms=round(statistics.median(latencies), 1) if latencies else None,
                p99_ms=round(latencies[round(0.99 * (len(latencies) - 1))], 1)
                if latencies
                else None,
            )
        )
    return rows


def plot(rows: list[Bucket], width: int, timeline: list[dict[str, Any]], path: Path) -> None:
    import matplotlib  # the bench group's, only needed for the picture

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rates, latency) = plt.subplots(2, 1, sharex=True, figsize=(11, 7))
    xs = [row.start_s for row in rows]
    rates.plot(xs, [row.accepted / width for row in rows], label="submitted/s (by created_at)")
    rates.plot(xs, [row.finished / width for row in rows], label="finished/s (by finished_at)")
    rates.set_ylabel("executions per second")
    rates.legend(loc="lower left")
    latency.plot(xs, [row.p50_ms for row in rows], label="p50")
    latency.plot(xs, [row.p99_ms for row in rows], label="p99")
    latency.set_yscale("log")
    latency.set_ylabel("submit to end, ms")
    latency.set_xlabel("seconds into the run")
    latency.legend(loc="upper left")
    for event in timeline:
        for axes in (rates, latency):
            axes.axvline(event["at"], color="grey", linewidth=0.6, linestyle=":")
        rates.annotate(
            event["action"],
            (event["at"], 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            va="top",
        )
    figure.suptitle("sandpod soak: distributed mode under chaos")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def table(rows: list[Bucket], width: int) -> str:
    lines = [
        "| from s | submitted/s | finished/s | p50 ms | p99 ms |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        p50 = "" if row.p50_ms is None else f"{row.p50_ms:.0f}"
        p99 = "" if row.p99_ms is None else f"{row.p99_ms:.0f}"
        lines.append(
            f"| {row.start_s} | {row.accepted / width:.1f} | {row.finished / width:.1f} "
            f"| {p50} | {p99} |"
        )
    return "\n".join(lines)


async def soak(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)  # noqa: S311  # chaos timing, reproducible by seed; no secret
    run_id = f"soak{os.getpid()}x{int(time.time())}"
    port = free_port()
    env = {
        **os.environ,
        **NO_RATE_LIMITS,
        **BENCH_ADMIN,
        "SANDPOD_MODE": "distributed",
        "SANDPOD_PORT": str(port),
        "SANDPOD_LOG_LEVEL": "WARNING",
        "SANDPOD_MONGO_DATABASE": os.environ.get("SANDPOD_MONGO_DATABASE", f"sandpod_{run_id}"),
        "SANDPOD_REDIS_PREFIX": os.environ.get("SANDPOD_REDIS_PREFIX", f"{run_id}:"),
        "SANDPOD_KAFKA_TOPIC_PREFIX": os.environ.get("SANDPOD_KAFKA_TOPIC_PREFIX", f"{run_id}."),
        "SANDPOD_SCHEMA_SUBJECT_PREFIX": os.environ.get(
            "SANDPOD_SCHEMA_SUBJECT_PREFIX", f"{run_id}."
        ),
        # The sweep looks often, so an execution it fails ends within the drain.
        "SANDPOD_SWEEP_INTERVAL_SECONDS": "5",
    }
    url = f"http://127.0.0.1:{port}"
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(env, out / "logs")
    for role in ROLES:
        supervisor.start(role)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        env["SANDPOD_MONGO_URL"], tz_aware=True
    )
    executions = mongo[env["SANDPOD_MONGO_DATABASE"]]["executions"]
    open_markers = mongo[env["SANDPOD_MONGO_DATABASE"]][OPEN_COLLECTION]
    client = Client(url, env)
    timeline: list[dict[str, Any]] = []
    load: list[tuple[float, float]] = []
    exits: Counter[str] = Counter()  # processes that exited by themselves, started again
    background: list[asyncio.Task[Any]] = []
    try:
        await wait_ready(url, supervisor.processes["api"], timeout=300)
        rate = args.executions / args.duration
        print(
            f"soak: {args.executions} executions at {rate:.1f}/s, chaos every ~{args.kill_every} s"
            f"{', services restarted once each' if args.services_dir else ''}",
            file=sys.stderr,
        )
        started = time.monotonic()
        origin = datetime.now().astimezone()
        loader = asyncio.create_task(sample_load(load, started))
        keeper = asyncio.create_task(supervisor.keep_running(exits))
        background += [loader, keeper]
        breaker = asyncio.create_task(
            chaos(
                supervisor,
                duration=args.duration,
                kill_every=args.kill_every,
                services_dir=args.services_dir,
                rng=rng,
                timeline=timeline,
                started=started,
            )
        )
        background.append(breaker)
        accepted, refused = await submit_steadily(
            client,
            count=args.executions,
            rate=rate,
            run_id=run_id,
            give_up_after=args.give_up_after,
            started=started,
        )
        await breaker  # a service restart late in the run finishes before the drain
        submitted_in = time.monotonic() - started
        await wait_until_all_end(executions, open_markers, len(accepted), args.drain)
        drained_in = time.monotonic() - started
        print(f"[{drained_in:6.1f}s] drained; reading the store and the topic", file=sys.stderr)
        loader.cancel()
        keeper.cancel()
        stored = [document async for document in executions.find({}, {"spec": 0})]
        started_events, finished_events, stdout = await lifecycle_counts(env)
    finally:
        # These first: the keeper would start again what stop_all stops (seen after a ^C), and
        # the chaos loop kill or restart more.
        for task in background:
            task.cancel()
        supervisor.stop_all()
        await client.close()
        await mongo.close()
    result = verdict(
        args.executions, accepted, refused, stored, started_events, finished_events, stdout
    )
    rows = buckets(stored, origin, args.bucket)
    latencies = sorted(
        (d["finished_at"] - d["created_at"]).total_seconds() * 1000
        for d in stored
        if d.get("finished_at") is not None
    )
    overall = {
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[round(0.99 * (len(latencies) - 1))], 1) if latencies else None,
        "submitted_in_s": round(submitted_in, 1),
        "all_ended_in_s": round(drained_in, 1),
        "mean_load_1m": round(statistics.mean(value for _, value in load), 2) if load else None,
        "cores": os.cpu_count(),
    }
    report = {
        "ok": result.ok,
        "verdict": asdict(result),
        "overall": overall,
        "timeline": timeline,
        "exited_and_restarted": dict(exits),
        "load": load,
        "buckets": [asdict(row) for row in rows],
        "refused": refused[:50],
    }
    (out / "soak.json").write_text(json.dumps(report, indent=2, default=str))
    (out / "soak.md").write_text(table(rows, args.bucket) + "\n")
    if not args.no_plot:
        plot(rows, args.bucket, timeline, out / "soak.png")
    print_summary(result, overall, timeline)
    print(f"processes that exited by themselves and were started again: {dict(exits)}")
    print(table(rows, args.bucket))
    print(
        f"\nwrote {out}/soak.json, soak.md{'' if args.no_plot else ', soak.png'}", file=sys.stderr
    )
    return 0 if result.ok else 1


def print_summary(result: Verdict, overall: dict[str, Any], timeline: list[dict[str, Any]]) -> None:
    print(f"\nsubmitted {result.submitted}, accepted {result.accepted}, stored {result.stored}")
    print(f"statuses: {result.statuses}")
    print(
        f"lost: {len(result.lost)}  second terminal state: {len(result.bad_transitions)}  "
        f"ran twice: {len(result.ran_twice)}  wrong output: {len(result.wrong_output)}  "
        f"stored twice: {len(result.stored_twice)}  not accepted: {result.not_accepted}"
    )
    for entry in result.stored_twice:
        print(f"  stored twice (no client saw it accepted): {entry}")
    print(
        f"reruns after a killed runner: {result.reruns}  "
        f"failed by the timeout sweep: {result.swept}"
    )
    print(
        f"submit-to-end p50 {overall['p50_ms']} ms, p99 {overall['p99_ms']} ms; "
        f"submitted in {overall['submitted_in_s']} s, all ended at {overall['all_ended_in_s']} s; "
        f"mean load {overall['mean_load_1m']} on {overall['cores']} cores"
    )
    print(f"chaos events: {len(timeline)}")
    for problem in (*result.lost[:5], *result.bad_transitions[:5], *result.ran_twice[:5]):
        print(f"  {problem}")
    print("PASS" if result.ok else "FAIL")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=600, help="seconds of submitting")
    parser.add_argument(
        "--kill-every", type=float, default=30, help="mean seconds between kills (0: none)"
    )
    parser.add_argument(
        "--services-dir",
        type=Path,
        help="the PRIVATE services directory whose Kafka, Redis and FerretDB are restarted once "
        "each (never the shared one); without it no service is restarted",
    )
    parser.add_argument("--give-up-after", type=float, default=300)
    parser.add_argument("--drain", type=float, default=300, help="seconds to wait for the end")
    parser.add_argument("--bucket", type=int, default=30, help="seconds per table row")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--output", type=Path, default=ROOT / "artifacts" / "soak")
    args = parser.parse_args()
    sys.exit(asyncio.run(soak(args)))


if __name__ == "__main__":
    main()
