"""The result processor: the single writer of status changes, and the timeout sweep."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandpod.domain.events import (
    CancelRequested,
    Event,
    ExecutionFinished,
    ExecutionRequested,
    ExecutionStarted,
    StatusUpdate,
)
from sandpod.domain.execution import Execution, utcnow
from sandpod.domain.result import EndReason, Result
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import EventBus, ExecutionStore, LiveUpdates, ServiceUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepOutcome:
    failed: list[str] = field(default_factory=list)  # overdue: failed with a clear reason
    republished: list[str] = field(default_factory=list)  # request never published: sent now


class ResultProcessor:
    def __init__(
        self,
        *,
        store: ExecutionStore,
        live: LiveUpdates,
        bus: EventBus,
        sweep_grace_seconds: float,
        queue_timeout_seconds: float,
        republish_after_seconds: float,
        on_finished: Callable[[Execution], None] | None = None,
    ) -> None:
        self._on_finished = on_finished
        self._store = store
        self._live = live
        self._bus = bus
        self._grace = timedelta(seconds=sweep_grace_seconds)
        self._queue_timeout = timedelta(seconds=queue_timeout_seconds)
        # 0 turns republishing off (one process: a publish to its in-process bus cannot be lost).
        self._republish_after = (
            timedelta(seconds=republish_after_seconds) if republish_after_seconds > 0 else None
        )

    async def handle(self, event: Event) -> None:
        """Apply one event. Redelivered events are rejected by the status machine; late ones do
        not exist: one execution's events arrive in the order they were published."""
        match event:
            case ExecutionStarted():
                # Started when the program started: the runner's publish (local runner), or the
                # container's own start time (pods: the pod monitor's event). Never later than
                # now, so a clock ahead of ours cannot push the deadline out.
                started_at = min(event.occurred_at, utcnow())
                await self._apply(event.execution_id, ExecutionStatus.RUNNING, at=started_at)
            case ExecutionFinished():
                await self._apply(event.execution_id, event.status, event.result)
            case CancelRequested():
                # Only a queued execution is cancelled here; a running one is its runner's.
                await self._apply(
                    event.execution_id,
                    ExecutionStatus.CANCELLED,
                    Result(end_reason=EndReason.CANCELLED, message="cancelled before it started"),
                    only_from=ExecutionStatus.QUEUED,
                )

    async def sweep(self, *, limit: int = 500) -> SweepOutcome:
        """Fail executions that no worker finished in time; publish requests that never were.

        An execution is stored before its request is published and marked published after, so
        one whose publish failed (the bus was down, the API process died) stays unmarked: once
        `republish_after_seconds` old, its request is published (marked resent, so a runner
        starts it only while it is still queued) and then marked. Past its deadline an
        execution is failed, queued or running, with a clear reason.
        """
        now = utcnow()
        outcome = SweepOutcome()
        # Nothing younger than both is overdue: every deadline is later still.
        for execution in await self._store.list_unfinished(
            created_before=now - min(self._grace, self._queue_timeout), limit=limit
        ):
            if now >= self._deadline(execution) and await self._fail_overdue(execution):
                outcome.failed.append(execution.id)
        if self._republish_after is not None:
            unpublished = await self._store.list_unpublished(
                created_before=now - self._republish_after, limit=limit
            )
            for execution in unpublished:
                if not await self._republish(execution):
                    break  # the bus is down: the rest would wait out the same outage
                outcome.republished.append(execution.id)
        return outcome

    async def _republish(self, execution: Execution) -> bool:
        """Publish the request and mark it published; False when the bus is down."""
        try:
            await self._bus.publish(ExecutionRequested(execution_id=execution.id, resent=True))
        except ServiceUnavailableError as error:
            log.warning("timeout sweep: cannot publish requests yet: %s", error)
            return False
        await self._store.mark_published(execution.id)
        log.warning(
            "published the request of a queued execution", extra={"execution_id": execution.id}
        )
        return True

    async def _fail_overdue(self, execution: Execution) -> bool:
        if execution.started_at is None:
            message = (
                f"no runner started this execution within "
                f"{self._queue_timeout.total_seconds():g} s of its submission (or its pod "
                f"never started running); it was {execution.status} when the timeout sweep "
                f"failed it"
            )
        else:
            message = (
                f"no worker finished this execution within {self._grace.total_seconds():g} s "
                f"of its {execution.spec.limits.wall_seconds:g} s wall limit; it was "
                f"{execution.status} when the timeout sweep failed it"
            )
        if not await self._apply(
            execution.id, ExecutionStatus.ERRORED, Result.platform_error(message)
        ):
            return False
        log.warning("swept execution", extra={"execution_id": execution.id})
        return True

    def _deadline(self, execution: Execution) -> datetime:
        # A backlog is no fault: the wall limit counts from the start, not the submission.
        # `started_at` is when the program started (for a pod, its container's start: a pod
        # still Pending is `queued`, under the queue timeout from the submission).
        if execution.started_at is None:
            return execution.created_at + self._queue_timeout
        wall = timedelta(seconds=execution.spec.limits.wall_seconds)
        return execution.started_at + wall + self._grace

    async def _apply(
        self,
        execution_id: str,
        target: ExecutionStatus,
        result: Result | None = None,
        *,
        only_from: ExecutionStatus | None = None,
        at: datetime | None = None,
    ) -> bool:
        at = at or utcnow()
        updated = await self._store.transition(
            execution_id, target, at=at, result=result, only_from=only_from
        )
        if updated is None:
            log.info(
                "ignored event",
                extra={"execution_id": execution_id, "target": str(target)},
            )
            return False
        await self._live.publish(
            StatusUpdate(execution_id=execution_id, status=target, occurred_at=at, result=result)
        )
        if target.is_terminal and self._on_finished is not None:
            self._on_finished(updated)
        return True
