"""The distributed API while Redis, MongoDB or Kafka goes away and comes back, with no restart.

The app is built from settings exactly as `sandpod api` builds it (app_from_settings), with the
runner and result-processor workers of distributed mode running beside it in this process (a fake
sandbox runs the scripts). For each service, on a throwaway server of the test's own
(tests/fixtures/throwaway.py) while the others are the shared ones:

- up: /health/ready is 200 and a submit is accepted (202);
- down: /health/ready is 503 naming the failed check, and a submit (and a read that needs the
  service) is a 503 problem+json with Retry-After and a detail naming the service; never a 500,
  never a hang;
- back (same port, same app): /health/ready is 200 again and submits are accepted again;
- nothing accepted is lost: every execution that got a 202 finishes, and so does one that was
  stored but answered 503 because Kafka was away (the sweep publishes its request again).
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import pytest

from sandpod.composition.api import app_from_settings
from sandpod.composition.results import build_results
from sandpod.composition.runner import build_runner
from sandpod.config import Settings
from tests import isolation
from tests.cleanup import clean_shared_servers
from tests.fakes import FakeSandbox
from tests.fixtures.apps import api_client
from tests.fixtures.throwaway import Server, ThrowawayBroker
from tests.kafka_support import require_kafka_services
from tests.waiting import eventually

pytestmark = pytest.mark.slow

API = "/api/v1"
READY = f"{API}/health/ready"
EXECUTIONS = f"{API}/executions"
ADMIN = ("root", "a long outage-test password 7")
SUBMIT = {"runtime": "python:3.12", "script": "print(1)"}
TERMINAL = {"completed", "failed", "timed_out", "cancelled", "errored"}
HANG_SECONDS = 20.0  # an answer slower than this during an outage counts as a hang
RECOVERY_SECONDS = 90.0  # how long the clients may take to find a restarted server


class Outage(Protocol):
    async def stop_async(self) -> None: ...

    async def start_async(self) -> None: ...


@dataclass
class Stack:
    http: httpx.AsyncClient
    accepted: list[str] = field(default_factory=list)  # every id that got a 202

    async def submit(self, *, idempotency_key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = await answer(self.http.post(EXECUTIONS, json=SUBMIT, headers=headers))
        if response.status_code == 202:
            self.accepted.append(response.json()["id"])
        return response

    async def get(self, execution_id: str) -> httpx.Response:
        return await answer(self.http.get(f"{EXECUTIONS}/{execution_id}"))


async def answer(request: Awaitable[httpx.Response]) -> httpx.Response:
    try:
        async with asyncio.timeout(HANG_SECONDS):
            return await request
    except TimeoutError:
        pytest.fail(f"no answer within {HANG_SECONDS:g} s while a service was down")


def settings(**overrides: Any) -> Settings:
    return isolation.isolated_settings(
        unique=True,
        auth={
            "auth_required": True,
            "jwt_secret": "outage-test-secret-" + "x" * 32,
            "admin_username": ADMIN[0],
            "admin_password": ADMIN[1],
            "password_hash_memory_kib": 1024,  # cheap hashing keeps the test fast
            "password_hash_time_cost": 1,
        },
        workers={
            "max_concurrent_executions": 4,
            "isolation_check_interval_seconds": 0,  # the fake sandbox cannot run the canary
            "sweep_interval_seconds": 1,
            "republish_after_seconds": 3,
            "sweep_grace_seconds": 600,  # the timeout sweep must not fail anything in this test
        },
        **overrides,
    )


@contextlib.asynccontextmanager
async def workers(config: Settings) -> AsyncIterator[None]:
    """The runner (with a fake sandbox) and the result processor, as `sandpod worker` runs them."""
    runner = await build_runner(config, FakeSandbox())
    results = await build_results(config)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker.work(stop)) for worker in (runner, results)]
    try:
        yield
    finally:
        stop.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for worker in (runner, results):
            await worker.aclose()
        crashed = [outcome for outcome in outcomes if outcome is not None]
        assert not crashed, f"a worker stopped on its own: {crashed}"


@contextlib.asynccontextmanager
async def running(config: Settings) -> AsyncIterator[Stack]:
    require_kafka_services(config.kafka.bootstrap_servers, config.schema_registry.registry_url)
    app = app_from_settings(config)
    try:
        async with (
            api_client(app, startup_timeout=60) as http,
            workers(config),
        ):
            login = await http.post(
                f"{API}/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
            )
            assert login.status_code == 200, login.text
            http.cookies.clear()
            http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            yield Stack(http)
    finally:
        await clean_shared_servers(config)


def assert_unavailable(response: httpx.Response, service: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    problem = response.json()
    assert problem["status"] == 503
    assert service in problem["detail"], problem["detail"]


async def assert_ready(stack: Stack) -> None:
    response = await stack.http.get(READY)
    assert response.status_code == 200, response.text
    assert set(response.json()["checks"].values()) == {"ok"}


async def assert_not_ready(stack: Stack, failed: set[str], service: str) -> None:
    response = await answer(stack.http.get(READY))
    assert response.status_code == 503, response.text
    checks: dict[str, str] = response.json()["checks"]
    assert {name for name, value in checks.items() if value != "ok"} == failed, checks
    for name in failed:
        assert checks[name].startswith("unavailable:"), checks
        assert service in checks[name], checks


async def until_ready(stack: Stack) -> None:
    async def ready() -> bool:
        return (await stack.http.get(READY)).status_code == 200

    await eventually(ready, timeout=RECOVERY_SECONDS, interval=0.5, what="the API to be ready")


async def until_accepted(stack: Stack) -> str:
    """Submit until one is accepted: right after a restart a client may need a retry or two."""
    accepted: list[str] = []

    async def accepts() -> bool:
        response = await stack.submit()
        if response.status_code == 202:
            accepted.append(str(response.json()["id"]))
            return True
        assert response.status_code == 503, response.text
        return False

    await eventually(accepts, timeout=RECOVERY_SECONDS, interval=0.5, what="a submission accepted")
    return accepted[0]


async def until_finished(stack: Stack, ids: list[str]) -> None:
    """Every one of them reaches a terminal status (completed: the fake sandbox prints)."""
    pending = set(ids)

    async def all_finished() -> bool:
        for execution_id in sorted(pending):
            response = await stack.get(execution_id)
            assert response.status_code in (200, 503), response.text
            if response.status_code == 200 and response.json()["status"] in TERMINAL:
                assert response.json()["status"] == "completed", response.text
                pending.discard(execution_id)
        return not pending

    await eventually(all_finished, timeout=RECOVERY_SECONDS, interval=0.3, what=f"{ids} to end")


async def test_redis_going_away(redis_server: tuple[Server, str]) -> None:
    server, url = redis_server
    # Reads unlimited: then a plain read needs no Redis, and the live stream is what does.
    config = settings(redis={"url": url}, rate_limits={"read_per_user": 0, "read_per_ip": 0})
    async with running(config) as stack:
        await assert_ready(stack)
        before = await stack.submit()
        assert before.status_code == 202, before.text
        await until_finished(stack, stack.accepted)
        execution_id = before.json()["id"]

        await server.stop_async()
        await assert_not_ready(stack, {"redis"}, "Redis")
        # Submits and sign-ins charge the rate limiter (Redis) first.
        assert_unavailable(await stack.submit(), "Redis")
        login = await answer(
            stack.http.post(f"{API}/auth/login", json={"username": ADMIN[0], "password": "x"})
        )
        assert_unavailable(login, "Redis")
        # The live stream subscribes to Redis before it starts; a plain read does not need it.
        stream = await answer(stack.http.get(f"{EXECUTIONS}/{execution_id}/events"))
        assert_unavailable(stream, "Redis")
        read = await stack.get(execution_id)
        assert read.status_code == 200, read.text

        await server.start_async()
        await until_ready(stack)
        await until_accepted(stack)
        await until_finished(stack, stack.accepted)


async def test_mongo_going_away(ferretdb_server: tuple[Server, str]) -> None:
    server, url = ferretdb_server
    async with running(settings(mongo={"url": url})) as stack:
        await assert_ready(stack)
        before = await stack.submit()
        assert before.status_code == 202, before.text

        await server.stop_async()
        await assert_not_ready(stack, {"store"}, "MongoDB")
        assert_unavailable(await stack.submit(), "MongoDB")
        assert_unavailable(await stack.get(before.json()["id"]), "MongoDB")
        listing = await answer(stack.http.get(EXECUTIONS))
        assert_unavailable(listing, "MongoDB")

        await server.start_async()
        await until_ready(stack)
        await until_accepted(stack)
        await until_finished(stack, stack.accepted)


async def test_kafka_going_away(kafka_broker: ThrowawayBroker) -> None:
    async with running(settings(kafka={"bootstrap_servers": kafka_broker.address})) as stack:
        await assert_ready(stack)
        before = await stack.submit()
        assert before.status_code == 202, before.text
        await until_finished(stack, stack.accepted)

        await kafka_broker.stop_async()
        await assert_not_ready(stack, {"event_bus"}, "Kafka")
        key = f"outage-{uuid.uuid4().hex}"
        during = await stack.submit(idempotency_key=key)
        assert_unavailable(during, "Kafka")
        assert "was stored but could not be queued" in during.json()["detail"]
        # Reads need no Kafka.
        read = await stack.get(before.json()["id"])
        assert read.status_code == 200, read.text

        await kafka_broker.start_async()
        await until_ready(stack)
        await until_accepted(stack)
        # The submit that answered 503 was stored; the same key gets it back, and the sweep
        # publishes its request again, so it runs.
        retried = await stack.submit(idempotency_key=key)
        assert retried.status_code == 202, retried.text
        assert retried.headers.get("idempotent-replayed") == "true"
        await until_finished(stack, stack.accepted)
