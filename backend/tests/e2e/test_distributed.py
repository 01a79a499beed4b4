"""Distributed mode end to end: the API and both workers as separate processes on real servers.

50 concurrent executions all finish with the right output and exactly one terminal state each;
killing the runner worker (SIGKILL, no goodbye) mid-way loses nothing, and a redelivered request
never gives an execution a second terminal state.
"""

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pymongo
import pytest
from pymongo.collection import Collection

from sandpod.config import Settings
from tests import isolation
from tests.waiting import eventually

pytestmark = pytest.mark.slow

ADMIN = ("e2e-admin", "a long e2e password 9")
LOGS = Path(__file__).resolve().parents[3] / "artifacts" / "e2e"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Stack:
    """The three processes of distributed mode, each with its own log file."""

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = env
        self.url = f"http://127.0.0.1:{env['SANDPOD_PORT']}"
        self.name = name
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        LOGS.mkdir(parents=True, exist_ok=True)

    def start(self, role: str) -> None:
        args = ["api"] if role == "api" else ["worker", role]
        with (LOGS / f"{self.name}-{role}.log").open("ab") as log:  # the child keeps its copy
            self.processes[role] = subprocess.Popen(
                [sys.executable, "-m", "sandpod", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self, role: str) -> None:
        process = self.processes.pop(role)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        """SIGTERM every process and wait until all have exited: none can write after this."""
        processes, self.processes = self.processes, {}
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def crashed(self) -> list[str]:
        return [role for role, process in self.processes.items() if process.poll() is not None]


def stack_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of every process of one test's stack (isolated names, a free port)."""
    return {
        **os.environ,
        "SANDPOD_MODE": "distributed",
        "SANDPOD_PORT": str(free_port()),
        "SANDPOD_LOG_LEVEL": "INFO",
        "SANDPOD_LOG_JSON": "true",
        "SANDPOD_MONGO_DATABASE": settings.mongo.database,
        "SANDPOD_REDIS_PREFIX": settings.redis.prefix,
        "SANDPOD_KAFKA_TOPIC_PREFIX": settings.kafka.topic_prefix,
        "SANDPOD_KAFKA_GROUP_SUFFIX": settings.kafka.group_suffix,
        "SANDPOD_SCHEMA_SUBJECT_PREFIX": settings.schema_registry.subject_prefix,
        "SANDPOD_JWT_SECRET": "e2e-secret-" + "x" * 40,
        "SANDPOD_ADMIN_USERNAME": ADMIN[0],
        "SANDPOD_ADMIN_PASSWORD": ADMIN[1],
        "SANDPOD_RATE_LIMIT_SUBMIT_PER_USER": "1000",
        "SANDPOD_RATE_LIMIT_SUBMIT_PER_IP": "1000",
        "SANDPOD_RATE_LIMIT_READ_PER_USER": "100000",
        "SANDPOD_RATE_LIMIT_READ_PER_IP": "100000",
        "SANDPOD_SWEEP_INTERVAL_SECONDS": "2",
        "SANDPOD_STOP_GRACE_SECONDS": "2",  # a stopping runner lets scripts run this long
        **extra,
    }


@contextlib.contextmanager
def running_stack(name: str, roles: tuple[str, ...], **extra: str) -> Iterator[Stack]:
    """Start `roles` as processes; stop them and drop the test's database at the end."""
    settings = isolation.isolated_settings(unique=True)
    stack = Stack(stack_env(settings, **extra), name)
    for role in roles:
        stack.start(role)
    try:
        yield stack
    finally:
        stack.stop()
        mongo: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(settings.mongo.url.get_secret_value()) as mongo:
            mongo.drop_database(settings.mongo.database)


@contextlib.asynccontextmanager
async def signed_in(stack: Stack, *, ready_timeout: float) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the stack's API once it is ready, signed in as the admin."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:

        async def ready() -> bool:
            assert not stack.crashed(), f"process exited during startup: see {LOGS}"
            return (await http.get("/api/v1/health/ready")).status_code == 200

        await eventually(
            ready,
            timeout=ready_timeout,
            interval=0.3,
            ignoring=(httpx.TransportError,),
            what=f"the stack to be ready (see {LOGS})",
        )
        login = await http.post(
            "/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
        )
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield http


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with running_stack(
        request.node.name, ("api", "runner", "results"), SANDPOD_MAX_CONCURRENT_EXECUTIONS="4"
    ) as stack:
        yield stack


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with signed_in(stack, ready_timeout=60) as http:
        yield http


async def submit(client: httpx.AsyncClient, index: int, sleep: float = 0) -> str:
    # The sandboxed script's sleep stands in for work that keeps a runner busy.
    script = f"import time\ntime.sleep({sleep})\nprint('result', {index} * {index})\n"
    response = await client.post(
        "/api/v1/executions",
        json={"runtime": "python:3.12", "script": script},
        headers={"Idempotency-Key": f"e2e-{index}"},
    )
    assert response.status_code == 202, response.text
    execution_id: str = response.json()["id"]
    return execution_id


async def wait_all_terminal(
    client: httpx.AsyncClient, ids: list[str], stack: Stack, timeout: float = 120
) -> dict[str, dict[str, object]]:
    finished: dict[str, dict[str, object]] = {}

    async def all_finished() -> bool:
        assert not stack.crashed(), f"a process died: see {LOGS}"
        for execution_id in ids:
            if execution_id not in finished:
                body = (await client.get(f"/api/v1/executions/{execution_id}")).json()
                if body["status"] not in ("queued", "running"):
                    finished[execution_id] = body
        return len(finished) == len(ids)

    await eventually(
        all_finished, timeout=timeout, interval=0.5, what=f"all {len(ids)} executions to finish"
    )
    return finished


def assert_one_terminal_state(versions: dict[str, int]) -> None:
    """The status-change counter: 2 for queued, running, end; 1 when the end event was applied
    before the started one (they travel on different topics). A second terminal state would
    take it past 2."""
    assert versions, "no executions stored"
    assert set(versions.values()) <= {1, 2}, versions


def stored_versions(stack: Stack, ids: list[str]) -> dict[str, int]:
    """Each execution's status-change counter as MongoDB holds it (2 = queued, running, end)."""
    url = os.environ.get("SANDPOD_MONGO_URL", "mongodb://127.0.0.1:27018")
    mongo: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(url) as mongo:
        database = stack.env["SANDPOD_MONGO_DATABASE"]
        collection: Collection[dict[str, Any]] = mongo[database]["executions"]
        return {
            str(doc["_id"]): int(doc["version"]) for doc in collection.find({"_id": {"$in": ids}})
        }


async def test_fifty_concurrent_executions_each_finish_once(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    ids = await asyncio.gather(*(submit(client, index) for index in range(50)))
    assert len(set(ids)) == 50
    # Four sandboxes at a time: on a loaded CI machine the backlog takes over a minute.
    finished = await wait_all_terminal(client, list(ids), stack, timeout=240)
    for index, execution_id in enumerate(ids):
        body = finished[execution_id]
        result = body["result"]
        assert isinstance(result, dict)
        assert body["status"] == "completed", (body["status"], result["message"])
        assert result["stdout"] == f"result {index * index}\n"
    stack.stop()  # every process has exited: no redelivery can still write
    assert_one_terminal_state(stored_versions(stack, list(ids)))


async def test_killing_the_runner_mid_way_loses_nothing(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    ids = await asyncio.gather(*(submit(client, index, sleep=0.4) for index in range(30)))

    # Wait until the runner is busy, then kill it without a chance to clean up or commit.
    async def busy() -> bool:
        page = (await client.get("/api/v1/executions", params={"limit": 100})).json()
        return bool(sum(item["status"] != "queued" for item in page["items"]) >= 5)

    await eventually(busy, timeout=60, interval=0.1, what="the runner to start 5 executions")
    stack.kill("runner")
    before = {
        item["id"]: item["status"]
        for item in (await client.get("/api/v1/executions", params={"limit": 100})).json()["items"]
    }
    assert "queued" in before.values(), "the runner finished everything before it was killed"
    stack.start("runner")
    finished = await wait_all_terminal(client, list(ids), stack)
    for index, execution_id in enumerate(ids):
        body = finished[execution_id]
        assert body["status"] == "completed", json.dumps(body)
        result = body["result"]
        assert isinstance(result, dict)
        assert result["stdout"] == f"result {index * index}\n"
    stack.stop()  # every process has exited: no redelivery can still write
    # Executions the dead runner had started are run again (running -> running is refused);
    # none reaches a second terminal state.
    assert_one_terminal_state(stored_versions(stack, list(ids)))
