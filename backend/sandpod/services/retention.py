"""The retention period: finished executions older than it are removed, a batch at a time."""

import logging
from datetime import datetime, timedelta

from sandpod.domain.execution import utcnow
from sandpod.ports import ExecutionStore, IdempotencyKeys
from sandpod.services.executions import free_idempotency_key

log = logging.getLogger(__name__)


class RetentionSweep:
    def __init__(
        self,
        *,
        store: ExecutionStore,
        idempotency: IdempotencyKeys,
        retention_seconds: float,
        batch: int = 500,
    ) -> None:
        self._store = store
        self._idempotency = idempotency
        self._retention = timedelta(seconds=retention_seconds)
        self._batch = batch

    @property
    def enabled(self) -> bool:
        return self._retention > timedelta(0)

    async def sweep(self, now: datetime | None = None) -> int:
        """Remove every execution that finished more than the retention period ago; how many."""
        if not self.enabled:
            return 0
        cut = (now or utcnow()) - self._retention
        removed = 0
        while True:
            batch = await self._store.delete_finished(finished_before=cut, limit=self._batch)
            for execution in batch:
                await free_idempotency_key(self._idempotency, execution)
            removed += len(batch)
            if len(batch) < self._batch:
                break
        if removed:
            log.info("retention sweep removed %d finished executions", removed)
        return removed
