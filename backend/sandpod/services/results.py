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
    republished: list[str] = field(default_factory=list)  # still queued: request sent again


class ResultProcessor:
    def __init__(
        self,
        *,
        store: ExecutionStore,
        live: LiveUpdates,
        bus: EventBus,
        sweep_grace_seconds: float,
        republish_after_seconds: float = 30.0,
        on_finished: Callable[[Execution], None] | None = None,
    ) -> None:
        self._on_finished = on_finished
        self._store = store
        self._live = live
        self._bus = bus
        self._grace = timedelta(seconds=sweep_grace_seconds)
        # 0 turns republishing off.
        self._republish_after = (
            timedelta(seconds=republish_after_seconds) if republish_after_seconds > 0 else None
        )
        # execution id -> when the sweep last published its request again
        self._republished: dict[str, datetime] = {}

    async def handle(self, event: Event) -> None:
        """Apply one event. Redelivered or late events are rejected by the status machine."""
        if isinstance(event, ExecutionStarted):
            await self._apply(event.execution_id, ExecutionStatus.RUNNING)
        elif isinstance(event, ExecutionFinished):
            await self._apply(event.execution_id, event.status, event.result)
        elif isinstance(event, CancelRequested):
            # Only a queued execution is cancelled here; a running one is the runner's to stop.
            await self._apply(
                event.execution_id,
                ExecutionStatus.CANCELLED,
                Result(end_reason=EndReason.CANCELLED, message="cancelled before it started"),
                only_from=ExecutionStatus.QUEUED,
            )

    async def sweep(self, *, limit: int = 500) -> SweepOutcome:
        """Fail executions that no worker finished in time; resend stale queued ones' requests.

        An execution is stored before its request is published, so a publish that failed (the
        bus was down, the API process died) leaves it queued with no request on the bus. Once
        queued for `republish_after_seconds`, its request is published again (marked resent, so
        a runner starts it only if it is still queued), at most once per that period, until
        its deadline; past the deadline it is failed, queued or running, with a clear reason.
        """
        now = utcnow()
        # Cheap pre-filter: nothing younger than this is overdue or due to be sent again.
        horizon = min(self._grace, self._republish_after or self._grace)
        candidates = await self._store.list_unfinished(created_before=now - horizon, limit=limit)
        outcome = SweepOutcome()
        bus_down = False
        for execution in candidates:
            if now >= self._deadline(execution):
                if await self._fail_overdue(execution):
                    outcome.failed.append(execution.id)
            elif not bus_down and self._due_for_republish(execution, now):
                try:
                    await self._bus.publish(ExecutionRequested.of(execution, resent=True))
                except ServiceUnavailableError as error:
                    bus_down = True  # the rest would wait out the same outage one by one
                    log.warning("timeout sweep: cannot resend requests yet: %s", error)
                    continue
                self._republished[execution.id] = now
                outcome.republished.append(execution.id)
                log.warning(
                    "resent the request of a queued execution", extra={"execution_id": execution.id}
                )
        # Forget what is no longer queued (the map stays as small as the backlog).
        queued = {e.id for e in candidates if e.status is ExecutionStatus.QUEUED}
        self._republished = {i: t for i, t in self._republished.items() if i in queued}
        return outcome

    async def _fail_overdue(self, execution: Execution) -> bool:
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

    def _due_for_republish(self, execution: Execution, now: datetime) -> bool:
        after = self._republish_after
        if after is None or execution.status is not ExecutionStatus.QUEUED:
            return False
        last = self._republished.get(execution.id, execution.created_at)
        return now - last >= after

    def _deadline(self, execution: Execution) -> datetime:
        wall = timedelta(seconds=execution.spec.limits.wall_seconds)
        return (execution.started_at or execution.created_at) + wall + self._grace

    async def _apply(
        self,
        execution_id: str,
        target: ExecutionStatus,
        result: Result | None = None,
        *,
        only_from: ExecutionStatus | None = None,
    ) -> bool:
        at = utcnow()
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
