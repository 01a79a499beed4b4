"""The lifecycle of an execution as one family of events, all on one stream keyed by its id.

requested -> started -> finished (with the result), and cancel at any time. Because every event
of one execution shares its key, the bus's per-key order is the order they happened in: a
`started` is always handled before the `finished` its runner published after it.

The request names the execution only: its spec (script, stdin, limits) is stored once, with the
execution, and the runner reads it from the store, which it reads anyway to skip redelivered work.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from sandpod.domain.execution import utcnow
from sandpod.domain.result import Result
from sandpod.domain.status import ExecutionStatus


class EventType(StrEnum):
    REQUESTED = "requested"
    STARTED = "started"
    FINISHED = "finished"
    CANCEL_REQUESTED = "cancel_requested"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    execution_id: str
    occurred_at: datetime = Field(default_factory=utcnow)


class ExecutionRequested(_Event):
    """Run this execution (its spec is in the store)."""

    type: Literal[EventType.REQUESTED] = EventType.REQUESTED
    resent: bool = Field(
        False,
        description="Published again by the timeout sweep for an execution whose first request "
        "may never have reached the bus: run it only if it is still queued.",
    )


class ExecutionStarted(_Event):
    """The program started: the runner starts the sandbox next (local runner), or the pod
    monitor saw the pod's container running (Kubernetes; `occurred_at` is the container's own
    start time). The result processor records it as the execution's start."""

    type: Literal[EventType.STARTED] = EventType.STARTED
    runner: str


class ExecutionFinished(_Event):
    """The sandbox ended; the result says how (its end reason decides the terminal status)."""

    type: Literal[EventType.FINISHED] = EventType.FINISHED
    result: Result

    @property
    def status(self) -> ExecutionStatus:
        return self.result.status


class CancelRequested(_Event):
    """Stop this execution: whoever holds it (the queue, a runner) ends it as cancelled."""

    type: Literal[EventType.CANCEL_REQUESTED] = EventType.CANCEL_REQUESTED


Event = Annotated[
    ExecutionRequested | ExecutionStarted | ExecutionFinished | CancelRequested,
    Field(discriminator="type"),
]
EVENT_MODELS: dict[EventType, type[_Event]] = {
    EventType.REQUESTED: ExecutionRequested,
    EventType.STARTED: ExecutionStarted,
    EventType.FINISHED: ExecutionFinished,
    EventType.CANCEL_REQUESTED: CancelRequested,
}


class StatusUpdate(BaseModel):
    """What live listeners receive when an execution changes status."""

    model_config = ConfigDict(frozen=True)

    execution_id: str
    status: ExecutionStatus
    occurred_at: datetime = Field(default_factory=utcnow)
    result: Result | None = None
