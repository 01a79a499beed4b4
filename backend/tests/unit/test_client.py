"""The CLI's HTTP client: submit, follow the live stream, print the result it carries."""

import json

import httpx
import pytest

from sandpod.entrypoints.client import submit_and_follow

RESULT = {
    "exit_code": 3,
    "stdout": "out\n",
    "stderr": "",
    "end_reason": "failed",
    "wall_seconds": 0.1,
    "cpu_seconds": 0.05,
    "peak_memory_bytes": 4096,
}


def stream(*updates: dict[str, object]) -> bytes:
    return b"".join(
        f"event: status\nid: {number}\ndata: {json.dumps(update)}\n\n".encode()
        for number, update in enumerate(updates)
    )


def server(events: bytes, seen: list[str]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return httpx.Response(202, json={"id": "ex_1", "status": "queued"})
        if request.url.path.endswith("/events"):
            return httpx.Response(
                200, content=events, headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(200, json={"id": "ex_1", "status": "failed", "result": RESULT})

    return httpx.MockTransport(answer)


def test_the_terminal_event_carries_the_result_so_no_get_follows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[str] = []
    events = stream(
        {"execution_id": "ex_1", "status": "queued"},
        {"execution_id": "ex_1", "status": "running"},
        {"execution_id": "ex_1", "status": "failed", "result": RESULT},
    )
    code = submit_and_follow(
        "http://sandpod", {"script": "x"}, wait=True, transport=server(events, seen)
    )
    assert code == 3
    assert capsys.readouterr().out == "out\n"
    assert seen == ["POST /api/v1/executions", "GET /api/v1/executions/ex_1/events"]


def test_a_stream_cut_short_falls_back_to_reading_the_result() -> None:
    seen: list[str] = []
    events = stream({"execution_id": "ex_1", "status": "running"})
    code = submit_and_follow(
        "http://sandpod", {"script": "x"}, wait=True, transport=server(events, seen)
    )
    assert code == 3
    assert seen[-1] == "GET /api/v1/executions/ex_1"
