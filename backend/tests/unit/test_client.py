"""The CLI's HTTP client: submit, follow the live stream, print the result it carries."""

import io
import json
from collections.abc import Iterator

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


def test_a_stream_cut_short_is_reopened_then_falls_back_to_reading_the_result() -> None:
    seen: list[str] = []
    waits: list[float] = []
    events = stream({"execution_id": "ex_1", "status": "running"})
    code = submit_and_follow(
        "http://sandpod",
        {"script": "x"},
        wait=True,
        transport=server(events, seen),
        sleep=waits.append,
    )
    assert code == 3
    assert seen.count("GET /api/v1/executions/ex_1/events") == 4  # the first and 3 reopenings
    assert seen[-1] == "GET /api/v1/executions/ex_1"
    assert sum(waits) > 0


def output(seq: int, text: str, stream: str = "stdout") -> bytes:
    data = {"stream": stream, "seq": seq, "text": text, "truncated": False}
    return f"event: output\nid: o{seq}\ndata: {json.dumps(data)}\n\n".encode()


def status(status: str, event_id: str, result: dict[str, object] | None = None) -> bytes:
    data = {"execution_id": "ex_1", "status": status, "result": result}
    return f"event: status\nid: {event_id}\ndata: {json.dumps(data)}\n\n".encode()


class Chunks(httpx.SyncByteStream):
    """A stream body sent piece by piece; `before_each` runs before each piece goes out."""

    def __init__(self, pieces: list[bytes], before_each: list[str], out: io.StringIO) -> None:
        self.pieces, self.before_each, self.out = pieces, before_each, out

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.before_each.append(self.out.getvalue())
            yield piece


def test_output_events_are_printed_as_they_arrive_and_not_again_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    printed_before: list[str] = []
    pieces = [
        status("running", "s1"),
        output(1, "first\n"),
        output(2, "second\n"),
        status("failed", "s2", {**RESULT, "stdout": "first\nsecond\n"}),
    ]
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return httpx.Response(202, json={"id": "ex_1", "status": "queued"})
        body = Chunks(pieces, printed_before, out)
        return httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"})

    code = submit_and_follow(
        "http://sandpod", {"script": "x"}, wait=True, transport=httpx.MockTransport(answer)
    )
    assert code == 3
    assert out.getvalue() == "first\nsecond\n"
    # The first chunk was on stdout before the server sent the second one, and both before the
    # terminal event: printed live, not at the end.
    assert printed_before[2] == "first\n"
    assert printed_before[3] == "first\nsecond\n"
    assert seen == ["POST /api/v1/executions", "GET /api/v1/executions/ex_1/events"]


class Dropping(httpx.SyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self.body
        raise httpx.RemoteProtocolError("peer closed connection")


def test_a_dropped_stream_resumes_from_the_last_event_without_printing_twice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    resumed_from: list[str | None] = []
    answers = iter(
        [
            httpx.Response(200, stream=Dropping(status("running", "s1") + output(1, "a\n"))),
            # A server that resends the chunk it already sent: the CLI prints it once.
            httpx.Response(
                200,
                content=output(1, "a\n") + output(2, "b\n") + status("completed", "s2", RESULT),
            ),
        ]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={"id": "ex_1", "status": "queued"})
        assert request.url.path.endswith("/events"), "no GET after the terminal event"
        resumed_from.append(request.headers.get("Last-Event-ID"))
        return next(answers)

    code = submit_and_follow(
        "http://sandpod",
        {"script": "x"},
        wait=True,
        transport=httpx.MockTransport(answer),
        sleep=lambda _: None,
    )
    assert code == 3
    assert capsys.readouterr().out == "a\nb\n"
    assert resumed_from == [None, "o1"]


def test_output_the_live_view_missed_is_printed_from_the_result(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A pod gone before its log was followed: the live view has the start, or nothing.
    result = {**RESULT, "stdout": "first\nsecond\n", "stderr": "warned\n"}
    for live in ([output(1, "first\n")], []):
        seen: list[str] = []
        events = b"".join([status("running", "s1"), *live, status("failed", "s2", result)])
        code = submit_and_follow(
            "http://sandpod", {"script": "x"}, wait=True, transport=server(events, seen)
        )
        assert code == 3
        printed = capsys.readouterr()
        assert printed.out == "first\nsecond\n"
        assert "ex_1 failed\nwarned\nfailed (failed)" in printed.err
