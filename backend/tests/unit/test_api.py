"""The HTTP API over the embedded container, with a fake sandbox (no processes started)."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandpod.composition.embedded import build_embedded
from sandpod.config import ApiSettings, ExecutionSettings, Settings
from sandpod.domain.runtimes import CATALOGUE
from tests.fakes import FakeSandbox
from tests.fixtures.apps import api_client
from tests.waiting import eventually

URL = "/api/v1/executions"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        executions=ExecutionSettings(max_script_bytes=1000),
        api=ApiSettings(max_request_bytes=4000, sse_heartbeat_seconds=1),
    )
    async with api_client(settings) as http:
        yield http


async def status_of(client: httpx.AsyncClient, execution_id: str) -> str:
    status: str = (await client.get(f"{URL}/{execution_id}")).json()["status"]
    return status


async def wait_terminal(client: httpx.AsyncClient, execution_id: str) -> dict[str, Any]:
    async def finished() -> bool:
        return await status_of(client, execution_id) not in ("queued", "running")

    await eventually(finished, timeout=10, what=f"{execution_id} to finish")
    body: dict[str, Any] = (await client.get(f"{URL}/{execution_id}")).json()
    return body


async def test_submit_then_get_the_result(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={"runtime": "python:3.12", "script": "x", "stdin": "hi"})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert response.headers["location"] == f"{URL}/{body['id']}"
    final = await wait_terminal(client, body["id"])
    assert final["status"] == "completed"
    assert final["result"]["stdout"] == "hi"


async def test_failed_script_reports_its_exit_code(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={"runtime": "python:3.12", "script": "# exit 3"})
    final = await wait_terminal(client, response.json()["id"])
    assert final["status"] == "failed"
    assert final["result"]["exit_code"] == 3


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"runtime": "cobol:85", "script": "x"}, 422, "unknown runtime 'cobol:85'"),
        ({"runtime": "python:3.12", "script": "   "}, 422, "script is empty"),
        ({"runtime": "python:3.12", "script": "x" * 1001}, 413, "script is 1001 bytes"),
        (
            {"runtime": "python:3.12", "script": "x", "limits": {"memory_mb": 10**6}},
            422,
            "memory_mb=1e+06 (maximum 1024)",
        ),
        (
            {"runtime": "python:3.12", "script": "x", "limits": {"wall_seconds": -1}},
            422,
            "limits.wall_seconds",
        ),
        ({"script": "x"}, 422, "runtime: Field required"),
        ({"runtime": "python:3.12", "script": "x", "extra": 1}, 422, "extra"),
    ],
)
async def test_bad_input_is_a_clear_4xx_and_creates_nothing(
    client: httpx.AsyncClient, body: dict[str, object], status: int, fragment: str
) -> None:
    response = await client.post(URL, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]
    assert (await client.get(URL)).json()["items"] == []


@pytest.mark.parametrize(
    ("content", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b'{"runtime": "python:3.12", "script": "\xff\xfe"}', 400, "UTF-8"),
        (b"x" * 5000, 413, "larger than 4000 bytes"),
    ],
)
async def test_unreadable_bodies_are_refused(
    client: httpx.AsyncClient, content: bytes, status: int, fragment: str
) -> None:
    response = await client.post(URL, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]
    assert (await client.get(URL)).json()["items"] == []


async def test_idempotency_key_replays_and_conflicts(client: httpx.AsyncClient) -> None:
    body = {"runtime": "python:3.12", "script": "print(1)"}
    headers = {"Idempotency-Key": "k-1"}
    first = await client.post(URL, json=body, headers=headers)
    again = await client.post(URL, json=body, headers=headers)
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = await client.post(URL, json={**body, "script": "print(2)"}, headers=headers)
    assert other.status_code == 409
    assert "different request body" in other.json()["detail"]
    assert len((await client.get(URL)).json()["items"]) == 1


async def test_list_paginates_with_a_cursor_and_filters_by_status(
    client: httpx.AsyncClient,
) -> None:
    ids = []
    for code in (0, 1, 0, 1, 0):
        response = await client.post(
            URL, json={"runtime": "python:3.12", "script": f"# exit {code}"}
        )
        ids.append(response.json()["id"])
    for execution_id in ids:
        await wait_terminal(client, execution_id)
    first = (await client.get(URL, params={"limit": 2})).json()
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    second = (await client.get(URL, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [item["id"] for item in second["items"]] == ids[::-1][2:4]
    failed = (await client.get(URL, params={"status": "failed"})).json()
    assert {item["id"] for item in failed["items"]} == {ids[1], ids[3]}
    bad = await client.get(URL, params={"status": "sleeping"})
    assert bad.status_code == 422


async def test_unknown_execution_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{URL}/ex_nope")
    assert response.status_code == 404
    assert response.json()["detail"] == "no execution with id 'ex_nope'"


async def test_cancel_a_running_execution(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={"runtime": "python:3.12", "script": "# block"})
    execution_id = response.json()["id"]

    async def running() -> bool:
        return await status_of(client, execution_id) == "running"

    await eventually(running, timeout=10, what=f"{execution_id} to start")
    cancel = await client.post(f"{URL}/{execution_id}/cancel")
    assert cancel.status_code == 202
    final = await wait_terminal(client, execution_id)
    assert final["status"] == "cancelled"
    again = await client.post(f"{URL}/{execution_id}/cancel")
    assert again.status_code == 409
    assert "already finished (cancelled)" in again.json()["detail"]


async def test_events_stream_status_changes_and_closes(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={"runtime": "python:3.12", "script": "print(1)"})
    execution_id = response.json()["id"]
    statuses = []
    async with client.stream("GET", f"{URL}/{execution_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                statuses.append(json.loads(line[5:])["status"])
    assert statuses[-1] == "completed"
    assert statuses == sorted(set(statuses), key=statuses.index)  # no repeats
    assert set(statuses) <= {"queued", "running", "completed"}


async def test_runtimes_list_the_catalogue_and_what_runs_here(client: httpx.AsyncClient) -> None:
    runtimes = {item["id"]: item for item in (await client.get("/api/v1/runtimes")).json()}
    assert runtimes.keys() == {runtime.id for runtime in CATALOGUE}
    # The fake sandbox of these tests runs python:3.12 only.
    assert [key for key, item in runtimes.items() if item["available"]] == ["python:3.12"]
    python = runtimes["python:3.12"]
    assert python["limits"]["maxima"]["memory_mb"] == 1024
    assert "print(" in python["example"]
    assert python["compile"] is None
    java = runtimes["java:17"]
    assert java["limits"]["defaults"]["memory_mb"] == 512  # the catalogue's, not the server's
    assert java["compile"]["limits"]["memory_mb"] == 768
    assert "-Werror" in java["compile"]["allowed_options"]
    assert java["image"] == "sandpod-runtime-java:17"


async def test_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/health/live")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/api/v1/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"store": "ok", "event_bus": "ok"}


async def test_readiness_checks_run_at_once() -> None:
    """Each check here answers only once the other has started: run one after the other, the
    first waits out its timeout and reads as unavailable."""
    embedded = build_embedded(Settings(), FakeSandbox())
    first_started, second_started = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        first_started.set()
        await second_started.wait()

    async def second() -> None:
        second_started.set()
        await first_started.wait()

    embedded.state.readiness = {"first": first, "second": second}
    async with api_client(embedded.app()) as http:
        ready = await http.get("/api/v1/health/ready")
    assert ready.json()["checks"] == {"first": "ok", "second": "ok"}
    assert ready.status_code == 200
