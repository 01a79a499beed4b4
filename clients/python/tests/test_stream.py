"""Live output iteration against scripted event streams (the SSE contract), drops included."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from sandpod_client import (
    AsyncSandpod,
    NotFoundError,
    OutputEvent,
    Sandpod,
    StatusEvent,
    StreamEndedError,
)
from sandpod_client.events import SSEDecoder
from tests.test_transport import URL, Script

RESULT = {"end_reason": "completed", "exit_code": 0, "stdout": "a\nb\n"}


def status(event_id: str, value: str, result: dict[str, object] | None = None) -> str:
    data = {"execution_id": "ex1", "status": value, "occurred_at": "2026-12-03T10:00:00Z"}
    if result is not None:
        data["result"] = result  # type: ignore[assignment]
    return f"id: {event_id}\nevent: status\ndata: {json.dumps(data)}\n\n"


def output(event_id: str, seq: int, text: str, stream: str = "stdout") -> str:
    data = {"stream": stream, "seq": seq, "text": text, "truncated": False}
    return f"id: {event_id}\nevent: output\ndata: {json.dumps(data)}\n\n"


class Cut(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that sends `text`, then (with `drop`) loses the connection."""

    def __init__(self, text: str, *, drop: bool) -> None:
        self.text, self.drop = text, drop

    def __iter__(self) -> Iterator[bytes]:
        yield self.text.encode()
        if self.drop:
            raise httpx.RemoteProtocolError("peer closed connection")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.text.encode()
        if self.drop:
            raise httpx.RemoteProtocolError("peer closed connection")


def sse(text: str, *, drop: bool = False) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=Cut(text, drop=drop)
    )


def test_events_are_typed_and_the_stream_ends_after_the_terminal_status() -> None:
    script = Script(
        sse(
            ": ping\n\n"
            + status("e1", "running")
            + output("e2", 1, "a\n")
            + output("e3", 2, "oops\n", "stderr")
            + status("e4", "completed", RESULT)
            + output("e5", 3, "never read\n")
        )
    )
    events = list(script.client().executions.stream("ex1"))
    assert [type(event) for event in events] == [StatusEvent, OutputEvent, OutputEvent, StatusEvent]
    first, chunk, error, last = events
    assert isinstance(first, StatusEvent)
    assert isinstance(chunk, OutputEvent)
    assert isinstance(error, OutputEvent)
    assert isinstance(last, StatusEvent)
    assert (first.status.value, first.terminal, first.id) == ("running", False, "e1")
    assert (chunk.stream, chunk.seq, chunk.text, chunk.id) == ("stdout", 1, "a\n", "e2")
    assert error.stream == "stderr"
    assert last.terminal
    assert last.result is not None
    assert last.result.stdout == "a\nb\n"
    assert script.requests[0].url.path == "/api/v1/executions/ex1/events"
    assert "Last-Event-ID" not in script.requests[0].headers


def test_a_dropped_stream_resumes_from_the_last_event_id() -> None:
    script = Script(
        sse(status("e1", "running") + output("e2", 1, "a\n"), drop=True),
        sse(output("e3", 2, "b\n") + status("e4", "completed", RESULT)),
    )
    events = list(script.client().executions.stream("ex1"))
    assert [event.id for event in events] == ["e1", "e2", "e3", "e4"]
    assert script.requests[1].headers["Last-Event-ID"] == "e2"
    assert len(script.sleeps) == 1


def test_a_stream_closed_before_the_end_is_reopened() -> None:
    script = Script(
        sse(status("e1", "queued")),
        sse(status("e2", "completed", RESULT)),
    )
    events = list(script.client().executions.stream("ex1"))
    assert [event.id for event in events] == ["e1", "e2"]
    assert script.requests[1].headers["Last-Event-ID"] == "e1"


def test_output_chunks_a_server_sends_again_are_not_yielded_twice() -> None:
    script = Script(
        sse(output("1", 1, "a\n") + output("2", 2, "b\n"), drop=True),
        sse(
            output("1", 1, "a\n")
            + output("2", 2, "b\n")
            + output("3", 3, "c\n")
            + status("4", "completed", RESULT)
        ),
    )
    texts = [
        event.text
        for event in script.client().executions.stream("ex1")
        if isinstance(event, OutputEvent)
    ]
    assert texts == ["a\n", "b\n", "c\n"]


def test_the_stream_gives_up_after_the_reconnect_budget() -> None:
    script = Script(*(sse("", drop=True) for _ in range(3)))
    with pytest.raises(StreamEndedError, match="closed before it ended 3 times"):
        list(script.client(max_reconnects=2).executions.stream("ex1"))
    assert len(script.requests) == 3


def test_a_stream_of_an_unknown_execution_is_a_404_without_reconnects() -> None:
    body = {"title": "Not Found", "status": 404, "detail": "no execution nope"}
    script = Script(httpx.Response(404, json=body))
    with pytest.raises(NotFoundError, match="no execution nope"):
        list(script.client().executions.stream("nope"))
    assert len(script.requests) == 1


def test_an_event_kind_this_sdk_does_not_know_is_passed_over() -> None:
    script = Script(sse("id: 1\nevent: novelty\ndata: {}\n\n" + status("2", "completed", RESULT)))
    assert [event.id for event in script.client().executions.stream("ex1")] == ["2"]


def test_wait_follows_the_stream_then_reads_the_execution() -> None:
    from tests.test_transport import FINISHED

    script = Script(
        sse(status("1", "running") + status("2", "completed", RESULT)),
        httpx.Response(200, json=FINISHED),
    )
    execution = script.client().executions.wait("ex1")
    assert execution.stdout == "1\n"
    assert [r.url.path for r in script.requests] == [
        "/api/v1/executions/ex1/events",
        "/api/v1/executions/ex1",
    ]


def test_the_decoder_follows_the_event_stream_rules() -> None:
    decoder = SSEDecoder()
    lines = ["retry: 100", "id: 7", "data: one", "data:two", ": comment", "event: output", ""]
    events = [decoder.feed(line) for line in lines]
    assert events[:-1] == [None] * 6
    last = events[-1]
    assert last is not None
    assert (last.event, last.data, last.id) == ("output", "one\ntwo", "7")
    # An event without data is not dispatched, but its id is kept.
    assert decoder.feed("id: 8") is None
    assert decoder.feed("") is None
    assert decoder.last_event_id == "8"


async def test_the_async_stream_resumes_alike() -> None:
    script = Script(
        sse(status("e1", "running") + output("e2", 1, "a\n"), drop=True),
        sse(output("e3", 2, "b\n") + status("e4", "completed", RESULT)),
    )

    async def sleep(seconds: float) -> None:
        script.sleeps.append(seconds)

    async with AsyncSandpod(URL, api_key="k", transport=httpx.MockTransport(script)) as client:
        client._sleep = sleep
        ids = [event.id async for event in client.executions.stream("ex1")]
    assert ids == ["e1", "e2", "e3", "e4"]
    assert script.requests[1].headers["Last-Event-ID"] == "e2"


def test_stream_is_a_generator_that_can_be_left_early() -> None:
    script = Script(
        sse(status("1", "running") + output("2", 1, "a\n") + status("3", "completed", RESULT))
    )
    with Sandpod(URL, api_key="k", transport=httpx.MockTransport(script)) as client:
        for event in client.executions.stream("ex1"):
            assert event.id == "1"
            break
