"""The execution status machine: the only legal ways an execution moves."""

from enum import StrEnum


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    ERRORED = "errored"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        ExecutionStatus.COMPLETED,
        ExecutionStatus.FAILED,
        ExecutionStatus.TIMED_OUT,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.ERRORED,
    }
)

_ALLOWED: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.QUEUED: frozenset({ExecutionStatus.RUNNING, *TERMINAL_STATUSES}),
    ExecutionStatus.RUNNING: TERMINAL_STATUSES,
}


class IllegalTransitionError(ValueError):
    def __init__(self, current: ExecutionStatus, target: ExecutionStatus) -> None:
        super().__init__(f"an execution cannot go from {current} to {target}")
        self.current = current
        self.target = target


def allowed_sources(target: ExecutionStatus) -> frozenset[ExecutionStatus]:
    """Statuses from which `target` may be reached (used for conditional updates)."""
    return frozenset(src for src, targets in _ALLOWED.items() if target in targets)


def can_transition(current: ExecutionStatus, target: ExecutionStatus) -> bool:
    return target in _ALLOWED.get(current, frozenset())


def check_transition(current: ExecutionStatus, target: ExecutionStatus) -> None:
    if not can_transition(current, target):
        raise IllegalTransitionError(current, target)
