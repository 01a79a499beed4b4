"""The live events of one execution (`GET /executions/{id}/events`, server-sent events).

- `status`: the execution's status now, then each change; the terminal one carries the result.
- `output`: a chunk of stdout or stderr while it runs, numbered per execution from 1 (`seq`).

Every event has an opaque `id`; a client that lost the connection sends the last one it saw as
`Last-Event-ID` and the server goes on from there. `StreamState` holds that bookkeeping for the
sync and async clients alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import Field

from sandpod_client.models import ExecutionStatus, Result, _Model


class StatusEvent(_Model):
    """The execution's status changed (the first one is its status when the stream opened)."""

    kind: Literal["status"] = "status"
    id: str | None = Field(None, description="The SSE event id (opaque).")
    execution_id: str
    status: ExecutionStatus
    occurred_at: datetime | None = None
    result: Result | None = None

    @property
    def terminal(self) -> bool:
        return self.status.is_terminal


class OutputEvent(_Model):
    """A chunk of the script's output, as it was written."""

    kind: Literal["output"] = "output"
    id: str | None = Field(None, description="The SSE event id (opaque).")
    stream: Literal["stdout", "stderr"]
    seq: int = Field(description="Per execution, from 1, without gaps.")
    text: str
    truncated: bool = Field(False, description="The output cap cut the stream at this chunk.")


Event = StatusEvent | OutputEvent


@dataclass
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None


@dataclass
class SSEDecoder:
    """Turns the lines of a text/event-stream into events (the WHATWG parsing rules)."""

    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None
    last_event_id: str | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: the server's heartbeat
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
            self.last_event_id = value
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event, data, event_id = self._event or "message", self._data, self._id
        self._event, self._data = "", []
        if not data:
            return None
        return ServerSentEvent(event=event, data="\n".join(data), id=event_id)


def parse(sse: ServerSentEvent) -> Event | None:
    """The typed event, or None for a kind this SDK does not know (newer servers may add some)."""
    if sse.event == "status":
        return StatusEvent.model_validate({**json.loads(sse.data), "id": sse.id})
    if sse.event == "output":
        return OutputEvent.model_validate({**json.loads(sse.data), "id": sse.id})
    return None


@dataclass
class StreamState:
    """Where a stream is, across reconnects: the id to resume from, whether it ended, and the
    last output chunk seen (a chunk is never yielded twice, even by a server that resends)."""

    last_event_id: str | None = None
    last_output_seq: int = 0
    finished: bool = False
    reconnects: int = 0

    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": self.last_event_id} if self.last_event_id is not None else {}

    def accept(self, sse: ServerSentEvent) -> Event | None:
        """The event to hand to the caller, or None to pass over it."""
        if sse.id is not None:
            self.last_event_id = sse.id
        event = parse(sse)
        if isinstance(event, OutputEvent):
            if event.seq <= self.last_output_seq:
                return None
            self.last_output_seq = event.seq
        elif isinstance(event, StatusEvent) and event.terminal:
            self.finished = True
        return event
