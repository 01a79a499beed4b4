"""The result processor: the single writer of status changes, and the timeout sweep."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sandpod.domain.events import (
    CancelRequested,
    Event,
    ExecutionFinished,
    ExecutionStarted,
    StatusUpdate,
)
from sandpod.domain.execution import Execution, utcnow
from sandpod.domain.result import EndReason, Result
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import ExecutionStore, LiveUpdates

log = logging.getLogger(__name__)


class ResultProcessor:
    def __init__(
        self,
        *,
        store: ExecutionStore,
        live: LiveUpdates,
        sweep_grace_seconds: float,
        on_finished: Callable[[Execution], None] | None = None,
    ) -> None:
        self._on_finished = on_finished
        self._store = store
        self._live = live
        self._grace = timedelta(seconds=sweep_grace_seconds)

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

    async def sweep(self, *, limit: int = 500) -> list[str]:
        """Fail executions that no worker finished in time. Returns the ids it failed."""
        now = utcnow()
        # Cheap pre-filter: nothing created after now - grace can be overdue yet.
        candidates = await self._store.list_unfinished(
            created_before=now - self._grace, limit=limit
        )
        failed = []
        for execution in candidates:
            if now < self._deadline(execution):
                continue
            message = (
                f"no worker finished this execution within {self._grace.total_seconds():g} s "
                f"of its {execution.spec.limits.wall_seconds:g} s wall limit; it was "
                f"{execution.status} when the timeout sweep failed it"
            )
            if await self._apply(
                execution.id, ExecutionStatus.ERRORED, Result.platform_error(message)
            ):
                failed.append(execution.id)
                log.warning("swept execution", extra={"execution_id": execution.id})
        return failed

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
