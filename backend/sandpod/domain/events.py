"""Events that cross process boundaries. Each type is one topic and one Avro schema."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from sandpod.domain.execution import Execution, utcnow
from sandpod.domain.limits import Limits
from sandpod.domain.result import Result
from sandpod.domain.status import ExecutionStatus


class EventType(StrEnum):
    REQUESTED = "execution.requested"
    STARTED = "execution.started"
    CANCEL_REQUESTED = "execution.cancel_requested"
    COMPLETED = "execution.completed"
    FAILED = "execution.failed"
    TIMED_OUT = "execution.timed_out"
    CANCELLED = "execution.cancelled"
    ERRORED = "execution.errored"


TerminalEventType = Literal[
    EventType.COMPLETED,
    EventType.FAILED,
    EventType.TIMED_OUT,
    EventType.CANCELLED,
    EventType.ERRORED,
]

TERMINAL_EVENT_FOR_STATUS: dict[ExecutionStatus, TerminalEventType] = {
    ExecutionStatus.COMPLETED: EventType.COMPLETED,
    ExecutionStatus.FAILED: EventType.FAILED,
    ExecutionStatus.TIMED_OUT: EventType.TIMED_OUT,
    ExecutionStatus.CANCELLED: EventType.CANCELLED,
    ExecutionStatus.ERRORED: EventType.ERRORED,
}
STATUS_FOR_TERMINAL_EVENT = {event: status for status, event in TERMINAL_EVENT_FOR_STATUS.items()}


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    execution_id: str
    occurred_at: datetime = Field(default_factory=utcnow)


class ExecutionRequested(_Event):
    type: Literal[EventType.REQUESTED] = EventType.REQUESTED
    runtime: str
    script: str
    stdin: str
    limits: Limits
    resent: bool = Field(
        False,
        description="Published again by the timeout sweep for an execution still queued, in case "
        "the first request never reached the bus: run it only if it is still queued.",
    )

    @classmethod
    def of(cls, execution: Execution, *, resent: bool = False) -> "ExecutionRequested":
        spec = execution.spec
        return cls(
            execution_id=execution.id,
            runtime=spec.runtime,
            script=spec.script,
            stdin=spec.stdin,
            limits=spec.limits,
            resent=resent,
        )


class ExecutionStarted(_Event):
    type: Literal[EventType.STARTED] = EventType.STARTED
    runner: str


class CancelRequested(_Event):
    type: Literal[EventType.CANCEL_REQUESTED] = EventType.CANCEL_REQUESTED


class ExecutionFinished(_Event):
    """A terminal event: `type` says which, `result` says what came out."""

    type: TerminalEventType
    result: Result

    @property
    def status(self) -> ExecutionStatus:
        return STATUS_FOR_TERMINAL_EVENT[self.type]

    @classmethod
    def from_result(cls, execution_id: str, result: Result) -> "ExecutionFinished":
        return cls(
            execution_id=execution_id,
            type=TERMINAL_EVENT_FOR_STATUS[result.status],
            result=result,
        )


Event = Annotated[
    ExecutionRequested | ExecutionStarted | CancelRequested | ExecutionFinished,
    Field(discriminator="type"),
]
EVENT_MODELS: dict[EventType, type[_Event]] = {
    EventType.REQUESTED: ExecutionRequested,
    EventType.STARTED: ExecutionStarted,
    EventType.CANCEL_REQUESTED: CancelRequested,
    **{event: ExecutionFinished for event in STATUS_FOR_TERMINAL_EVENT},
}


class StatusUpdate(BaseModel):
    """What live listeners receive when an execution changes status."""

    model_config = ConfigDict(frozen=True)

    execution_id: str
    status: ExecutionStatus
    occurred_at: datetime = Field(default_factory=utcnow)
    result: Result | None = None
