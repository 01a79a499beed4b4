"""Live output on GET /executions/{id}/events in both modes, scripts in the real local sandbox."""

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner
from tests.integration.stacks import EXECUTIONS, MODES, TERMINAL, Stack, running
from tests.sse import Received, read_events

pytestmark = pytest.mark.slow

LINES = 6
TICKING = {
    "runtime": "python:3.12",
    "script": (
        "import sys, time\n"
        f"for i in range({LINES}):\n"
        "    print(f'tick {i}', flush=True)\n"
        "    if i == 2:\n"
        "        print('half way', file=sys.stderr, flush=True)\n"
        "    time.sleep(0.5)\n"
    ),
}
EXPECTED_STDOUT = "".join(f"tick {i}\n" for i in range(LINES))


@pytest.fixture(params=MODES)
async def stack(
    request: pytest.FixtureRequest, sandbox_runner: LocalSandboxRunner
) -> AsyncIterator[Stack]:
    async with running(request.param, sandbox_runner) as stack:
        yield stack


def outputs(events: list[Received]) -> list[dict[str, object]]:
    return [event.data for event in events if event.event == "output"]


def joined(events: list[Received], stream: str) -> str:
    return "".join(str(data["text"]) for data in outputs(events) if data["stream"] == stream)


def check_whole(events: list[Received]) -> None:
    """One complete stream: statuses around the output, seq 1..n, the texts are the result."""
    assert events[-1].event == "status"
    assert events[-1].data["status"] in TERMINAL
    statuses = [event.data["status"] for event in events if event.event == "status"]
    assert statuses[-2:] == ["running", "completed"]
    first_output = next(i for i, event in enumerate(events) if event.event == "output")
    assert events[first_output - 1].data["status"] == "running"
    assert [data["seq"] for data in outputs(events)] == list(range(1, len(outputs(events)) + 1))
    result = events[-1].data["result"]
    assert joined(events, "stdout") == result["stdout"] == EXPECTED_STDOUT
    assert joined(events, "stderr") == result["stderr"] == "half way\n"
    assert len({event.id for event in events}) == len(events)  # every event has its own id


async def test_output_arrives_while_the_script_runs(stack: Stack) -> None:
    execution_id = await stack.submit(TICKING)
    async with stack.served() as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        events = await read_events(
            http, f"{EXECUTIONS}/{execution_id}/events", stack.headers["owner"]
        )
    check_whole(events)
    finished_at = datetime.fromisoformat(str((await stack.finished(execution_id))["finished_at"]))
    first = next(event for event in events if event.event == "output")
    assert first.at < finished_at, "the first output event came only after the script ended"
    assert len(outputs(events)) > 1  # lines 0.5 s apart are not held back into one chunk


async def test_a_reconnect_with_last_event_id_resumes_exactly(stack: Stack) -> None:
    execution_id = await stack.submit(TICKING)
    url = f"{EXECUTIONS}/{execution_id}/events"
    async with stack.served() as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        before = await read_events(http, url, stack.headers["owner"], stop_after=4)
        assert any(event.event == "output" for event in before)  # cut in the middle of output
        after = await read_events(http, url, stack.headers["owner"], last_event_id=before[-1].id)
    check_whole(before + after)


async def test_after_the_end_the_output_is_replayed_and_resumes_exactly(stack: Stack) -> None:
    execution_id = await stack.submit(TICKING)
    await stack.finished(execution_id)
    url = f"{EXECUTIONS}/{execution_id}/events"
    owner = stack.headers["owner"]
    async with stack.served() as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        whole = await read_events(http, url, owner)
        check_whole(whole)
        for cut in range(1, len(whole)):
            rest = await read_events(http, url, owner, last_event_id=whole[cut - 1].id)
            assert [(e.id, e.event, e.data) for e in rest] == [
                (e.id, e.event, e.data) for e in whole[cut:]
            ]
        assert await read_events(http, url, owner, last_event_id=whole[-1].id) == []


async def test_a_flood_is_cut_at_the_cap_and_marked(stack: Stack) -> None:
    flood = {
        "runtime": "python:3.12",
        "script": "import sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n",
        "limits": {"output_bytes": 50_000},
    }
    execution_id = await stack.submit(flood)
    async with stack.served() as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        events = await read_events(
            http, f"{EXECUTIONS}/{execution_id}/events", stack.headers["owner"]
        )
    chunks = outputs(events)
    assert joined(events, "stdout") == "x" * 50_000
    assert [data["truncated"] for data in chunks] == [False] * (len(chunks) - 1) + [True]
    assert all(len(str(data["text"])) <= stack.settings.output.chunk_chars for data in chunks)
    assert events[-1].data["result"]["stdout_truncated"] is True


async def test_a_last_event_id_the_stream_never_sent_is_a_clear_400(stack: Stack) -> None:
    execution_id = await stack.submit({"runtime": "python:3.12", "script": "print(1)"})
    response = await stack.http.get(
        f"{EXECUTIONS}/{execution_id}/events",
        headers={**stack.headers["owner"], "Last-Event-ID": "not-an-id"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "Last-Event-ID" in response.json()["detail"]
    await stack.finished(execution_id)
