"""The API in either mode, on real components, with accounts on: for the tests of issue 14.

- embedded: `build_embedded` with the real local sandbox runner (bubblewrap), one process;
- distributed: the app exactly as `sandpod api` builds it (MongoDB, Redis, Kafka + Schema
  Registry, each test with names of its own), and the runner, result-processor and webhook
  workers of distributed mode beside it in this process, running scripts in the real local
  sandbox.

`Stack.headers` holds request headers for anonymous, alice (the owner of what a test makes), bob
(another user) and the seeded admin.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from asgi_lifespan import LifespanManager

from sandpod.composition.api import app_from_settings
from sandpod.composition.embedded import embedded_app
from sandpod.composition.results import build_results
from sandpod.composition.runner import build_runner
from sandpod.composition.webhooks import build_webhooks
from sandpod.config import GROUPS, Settings
from sandpod.ports import Sandbox
from tests import isolation
from tests.cleanup import clean_shared_servers
from tests.kafka_support import require_kafka_services
from tests.waiting import eventually

API = "/api/v1"
EXECUTIONS = f"{API}/executions"
ADMIN = ("root", "a long stack-test password 7")
PASSWORD = "a long passphrase 42"
MODES = ("embedded", "distributed")
TERMINAL = {"completed", "failed", "timed_out", "cancelled", "errored"}


@dataclass
class Stack:
    mode: str
    http: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    settings: Settings
    app: Any = None

    @contextlib.asynccontextmanager
    async def served(self) -> AsyncIterator[str]:
        """The stack's app behind a real HTTP server on loopback (the in-process transport
        holds a response until it is complete: streams and WebSockets need a server)."""
        server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
        )
        task = asyncio.create_task(server.serve())
        try:
            await eventually(lambda: server.started, timeout=30, what="the test server to start")
            port = server.servers[0].sockets[0].getsockname()[1]
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 30)

    async def submit(self, body: dict[str, Any], who: str = "owner", **params: Any) -> str:
        response = await self.http.post(
            EXECUTIONS, json=body, params=params, headers=self.headers[who]
        )
        assert response.status_code in (200, 202), response.text
        execution_id: str = response.json()["id"]
        return execution_id

    async def finished(
        self, execution_id: str, who: str = "owner", timeout: float = 60
    ) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        async def ended() -> bool:
            response = await self.http.get(
                f"{EXECUTIONS}/{execution_id}", headers=self.headers[who]
            )
            seen.update(response.json())
            return seen.get("status") in TERMINAL

        await eventually(ended, timeout=timeout, interval=0.05, what=f"{execution_id} to end")
        return seen


def base_settings(mode: str, **groups: dict[str, Any]) -> Settings:
    """Settings with accounts on and quick sweeps; `groups` override fields per settings group,
    e.g. `api={"max_wait_seconds": 20}`."""
    fields: dict[str, dict[str, Any]] = {
        "auth": {
            "auth_required": True,
            "jwt_secret": "stack-test-secret-" + "x" * 32,
            "admin_username": ADMIN[0],
            "admin_password": ADMIN[1],
            "password_hash_memory_kib": 1024,  # cheap hashing keeps the tests fast
            "password_hash_time_cost": 1,
        },
        "api": {"sse_heartbeat_seconds": 1},
        # A closing stack's runner lets running scripts end for this long (graceful stop).
        "workers": {"sweep_interval_seconds": 1, "stop_grace_seconds": 2},
    }
    for name, values in groups.items():
        fields[name] = {**fields.get(name, {}), **values}
    if mode == "embedded":
        built: dict[str, Any] = {name: GROUPS[name](**values) for name, values in fields.items()}
        return Settings(**built)
    return isolation.isolated_settings(unique=True, **fields)


@contextlib.asynccontextmanager
async def distributed_workers(
    config: Settings, sandbox: Sandbox, *, with_runner: bool = True
) -> AsyncIterator[None]:
    """The runner (over `sandbox`), the result processor and the webhook worker, as `sandpod
    worker` builds them."""
    workers = [await build_results(config), await build_webhooks(config)]
    if with_runner:
        workers.append(await build_runner(config, sandbox))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker.work(stop)) for worker in workers]
    try:
        yield
    finally:
        stop.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for worker in workers:
            await worker.aclose()
        crashed = [outcome for outcome in outcomes if outcome is not None]
        assert not crashed, f"a worker stopped on its own: {crashed}"


@contextlib.asynccontextmanager
async def _app(
    mode: str, config: Settings, sandbox: Sandbox, with_runner: bool
) -> AsyncIterator[Any]:
    if mode == "embedded":
        app = embedded_app(config, sandbox)
        # Closing the real sandbox can take seconds on a loaded machine: a bound, not a speed test.
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
            yield manager.app
        return
    require_kafka_services(config.kafka.bootstrap_servers, config.schema_registry.registry_url)
    app = app_from_settings(config)
    try:
        async with (
            LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager,
            distributed_workers(config, sandbox, with_runner=with_runner),
        ):
            yield manager.app
    finally:
        await clean_shared_servers(config)


@contextlib.asynccontextmanager
async def running(
    mode: str, sandbox: Sandbox, *, with_runner: bool = True, **groups: dict[str, Any]
) -> AsyncIterator[Stack]:
    """`with_runner=False` (distributed mode only): the test starts its own runners."""
    config = base_settings(mode, **groups)
    async with _app(mode, config, sandbox, with_runner) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", timeout=60
        ) as http:
            headers: dict[str, dict[str, str]] = {"anonymous": {}}
            for who, username, password in (
                ("owner", "alice", PASSWORD),
                ("other", "bob", PASSWORD),
                ("admin", *ADMIN),
            ):
                if who != "admin":
                    created = await http.post(
                        f"{API}/auth/register", json={"username": username, "password": password}
                    )
                    assert created.status_code == 201, created.text
                login = await http.post(
                    f"{API}/auth/login", json={"username": username, "password": password}
                )
                assert login.status_code == 200, login.text
                headers[who] = {"Authorization": f"Bearer {login.json()['access_token']}"}
            http.cookies.clear()
            yield Stack(mode, http, headers, config, app)
