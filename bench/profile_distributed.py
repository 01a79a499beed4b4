"""What one distributed execution costs the services: MongoDB commands, Kafka records, Redis calls.

Runs N hello-world executions through the real distributed processes (API, runner worker, result
processor) and reads each server's own counters before and after:

  MongoDB   FerretDB's per-command request counters (its debug endpoint, /debug/metrics)
  Redis     INFO commandstats (calls per command)
  Kafka     end offsets of the lifecycle topic (records published) and of __consumer_offsets
            (offset-commit records written by the consumer groups)

The counters are server-wide, so the services must be this run's alone: `make bench-profile`
starts a private set on their own ports and data directory (never the shared ones). The
background (sweeps, heartbeats) is measured over an idle spell of the same length first and
subtracted, so the figures are per execution.

Run with `make bench-profile` (or see --help).
"""

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from bench import (
    BENCH_ADMIN,
    NO_RATE_LIMITS,
    ROOT,
    free_port,
    processes,
    sandpod_command,
    sign_in,
    submit_and_wait,
    wait_ready,
)

MONGO_WRITES = frozenset({"insert", "update", "delete", "findAndModify"})
MONGO_READS = frozenset({"find", "count", "aggregate", "getMore", "distinct"})
# What a client sends to keep its connections alive, not work for an execution.
MONGO_HOUSEKEEPING = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions"})
_METRIC = re.compile(r'^ferretdb_client_requests_total\{command="([^"]+)",opcode="[^"]+"\} (\d+)')


SERVICES = ("mongo", "kafka", "redis", "schema-registry")
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its reaped children (a runner's sandboxes)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / _TICK


def service_pids() -> dict[str, int]:
    """The private services' pids, from the pidfiles services.sh writes."""
    where = Path(os.environ.get("SANDPOD_SERVICES_DIR", ROOT / ".services"))
    found = {}
    for name in SERVICES:
        pidfile = where / name / f"{name}.pid"
        if pidfile.is_file():
            found[name] = int(pidfile.read_text())
    return found


@dataclass
class Snapshot:
    cpu: dict[str, float]
    mongo: Counter[str]
    redis: Counter[str]
    kafka_records: int
    kafka_commits: int
    at: float


@dataclass
class Profile:
    executions: int
    follow: str
    mongo_per_execution: dict[str, float]
    mongo_writes: float
    mongo_reads: float
    redis_per_execution: dict[str, float]
    redis_calls: float
    kafka_records: float
    kafka_offset_commits: float
    executions_per_second: float
    cpu_ms_per_execution: dict[str, float]


async def mongo_counts(metrics_url: str) -> Counter[str]:
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(metrics_url)).text
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if match := _METRIC.match(line):
            counts[match[1]] += int(match[2])
    return counts


async def redis_counts(redis: Redis) -> Counter[str]:
    stats = await redis.info("commandstats")
    return Counter(
        {
            name.removeprefix("cmdstat_"): int(value["calls"])
            for name, value in stats.items()
            if name not in ("cmdstat_info",)
        }
    )


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """The sum of each topic's partition end offsets: how many records it ever took."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics(topics)
        parts = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]
        consumer.assign(parts)  # a consumer only knows the metadata of its assigned topics
        offsets = await consumer.end_offsets(parts)
        return {name: sum(v for p, v in offsets.items() if p.topic == name) for name in topics}
    finally:
        await consumer.stop()
        await admin.close()


async def snapshot(
    env: dict[str, str], metrics_url: str, redis: Redis, pids: dict[str, int]
) -> Snapshot:
    lifecycle = f"{env['SANDPOD_KAFKA_TOPIC_PREFIX']}execution-lifecycle"
    offsets = await end_offsets(
        env["SANDPOD_KAFKA_BOOTSTRAP_SERVERS"], [lifecycle, "__consumer_offsets"]
    )
    return Snapshot(
        cpu={name: cpu_seconds(pid) for name, pid in pids.items()},
        mongo=await mongo_counts(metrics_url),
        redis=await redis_counts(redis),
        kafka_records=offsets[lifecycle],
        kafka_commits=offsets["__consumer_offsets"],
        at=time.perf_counter(),
    )


def per_execution(
    before: Counter[str], after: Counter[str], idle: Counter[str], scale: float, n: int
) -> dict[str, float]:
    """(after - before - idle background scaled to the same length) / n, per command."""
    names = set(after) | set(before)
    figures = {name: (after[name] - before[name] - idle[name] * scale) / n for name in names}
    return {name: round(value, 2) for name, value in sorted(figures.items()) if value >= 0.05}


async def follow_wait(http: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    response = await http.post(
        "/api/v1/executions", params={"wait": 5}, json={"runtime": "python:3.12", "script": "1"}
    )
    if response.status_code != 200 or response.json()["status"] != "completed":
        raise RuntimeError(f"run-and-wait answered {response.status_code}: {response.text}")
    return time.perf_counter() - started


async def run_batch(
    url: str, headers: dict[str, str], n: int, concurrency: int, follow: str
) -> float:
    """Run n executions with `concurrency` clients; returns the elapsed seconds."""
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, headers=headers) as http:
        remaining = n

        async def client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await (submit_and_wait(http) if follow == "sse" else follow_wait(http))

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return time.perf_counter() - started


async def profile(args: argparse.Namespace) -> Profile:
    port = free_port()
    suffix = f"profile{os.getpid()}"
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
    url = f"http://127.0.0.1:{port}"
    redis = Redis.from_url(env["SANDPOD_REDIS_URL"])
    commands = [
        sandpod_command("api"),
        sandpod_command("worker", "runner"),
        sandpod_command("worker", "results"),
    ]
    try:
        async with processes(commands, env) as started:
            await wait_ready(url, started[0])
            headers = await sign_in(url, env)
            names = ("api", "runner", "results")
            pids = {**service_pids(), **{n: p.pid for n, p in zip(names, started, strict=True)}}
            await run_batch(url, headers, 5, 1, args.follow)  # warm-up: connections, schemas
            await asyncio.sleep(1)
            idle_before = await snapshot(env, args.mongo_metrics, redis, pids)
            await asyncio.sleep(args.idle_seconds)
            before = await snapshot(env, args.mongo_metrics, redis, pids)
            elapsed = await run_batch(url, headers, args.executions, args.concurrency, args.follow)
            await asyncio.sleep(1)  # let the last commits land
            after = await snapshot(env, args.mongo_metrics, redis, pids)
    finally:
        await redis.aclose()
    n = args.executions
    scale = (after.at - before.at) / (before.at - idle_before.at)
    idle_mongo = before.mongo - idle_before.mongo
    idle_redis = before.redis - idle_before.redis
    mongo = per_execution(before.mongo, after.mongo, idle_mongo, scale, n)
    redis_calls = per_execution(before.redis, after.redis, idle_redis, scale, n)
    idle_commits = before.kafka_commits - idle_before.kafka_commits
    commits = (after.kafka_commits - before.kafka_commits - idle_commits * scale) / n
    return Profile(
        executions=n,
        follow=args.follow,
        mongo_per_execution=mongo,
        mongo_writes=round(sum(v for k, v in mongo.items() if k in MONGO_WRITES), 2),
        mongo_reads=round(sum(v for k, v in mongo.items() if k in MONGO_READS), 2),
        redis_per_execution=redis_calls,
        redis_calls=round(sum(redis_calls.values()), 2),
        kafka_records=round((after.kafka_records - before.kafka_records) / n, 2),
        kafka_offset_commits=round(commits, 2),
        executions_per_second=round(n / elapsed, 1),
        cpu_ms_per_execution={
            name: round((after.cpu[name] - before.cpu[name]) * 1000 / n, 1) for name in after.cpu
        },
    )


def print_profile(profile: Profile) -> None:
    print(f"\nper execution ({profile.executions} executions, follow: {profile.follow}):")
    print(f"  MongoDB writes   {profile.mongo_writes:6.2f}")
    print(f"  MongoDB reads    {profile.mongo_reads:6.2f}")
    for name, value in profile.mongo_per_execution.items():
        if name not in MONGO_HOUSEKEEPING:
            print(f"    {name:20} {value:6.2f}")
    print(f"  Redis calls      {profile.redis_calls:6.2f}")
    for name, value in profile.redis_per_execution.items():
        print(f"    {name:20} {value:6.2f}")
    print(f"  Kafka records    {profile.kafka_records:6.2f}")
    print(f"  Kafka offset-commit records {profile.kafka_offset_commits:6.2f}")
    print(f"  throughput: {profile.executions_per_second}/s")
    print("CPU ms per execution (runner: with its sandboxes):")
    for name, value in sorted(profile.cpu_ms_per_execution.items(), key=lambda item: -item[1]):
        print(f"    {name:20} {value:6.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--follow", choices=("sse", "wait"), default="sse")
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument(
        "--mongo-metrics",
        default=os.environ.get("SANDPOD_PROFILE_MONGO_METRICS"),
        help="FerretDB's metrics URL (http://127.0.0.1:<debug port>/debug/metrics)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "artifacts" / "profile.json")
    args = parser.parse_args()
    if not args.mongo_metrics:
        parser.error("--mongo-metrics (or SANDPOD_PROFILE_MONGO_METRICS) is required")
    result = await profile(args)
    print_profile(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(asdict(result), indent=2))
    print(f"\nwrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
