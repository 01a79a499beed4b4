"""Execution store kept in a dict; one lock makes every transition atomic."""

import asyncio
from collections.abc import Sequence
from datetime import datetime

from sandpod.domain.execution import Execution
from sandpod.domain.result import Result
from sandpod.domain.status import ExecutionStatus, can_transition
from sandpod.domain.webhooks import WebhookDelivery
from sandpod.ports import DuplicateExecutionError, Page


class InMemoryExecutionStore:
    def __init__(self) -> None:
        self._items: dict[str, Execution] = {}
        self._unpublished: set[str] = set()
        self._started: set[str] = set()
        self._ended: set[str] = set()
        self._lock = asyncio.Lock()

    async def add(self, execution: Execution) -> None:
        async with self._lock:
            if execution.id in self._items:
                raise DuplicateExecutionError(execution.id)
            self._items[execution.id] = execution
            self._unpublished.add(execution.id)

    async def get(self, execution_id: str) -> Execution | None:
        return self._items.get(execution_id)

    async def list(
        self,
        *,
        owner: str | None,
        status: ExecutionStatus | None,
        after: str | None,
        limit: int,
        runtime: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Page:
        matching = sorted(
            (
                item
                for item in self._items.values()
                if (owner is None or item.owner == owner)
                and (status is None or item.status is status)
                and (after is None or item.id < after)
                and (runtime is None or item.spec.runtime == runtime)
                and (created_after is None or item.created_at > created_after)
                and (created_before is None or item.created_at < created_before)
            ),
            key=lambda item: item.id,
            reverse=True,
        )
        return Page.of(matching, limit)

    async def delete(self, execution_id: str) -> bool:
        async with self._lock:
            current = self._items.get(execution_id)
            if current is None or not current.status.is_terminal:
                return False
            del self._items[execution_id]
            self._started.discard(execution_id)
            self._ended.discard(execution_id)
            return True

    async def delete_finished(
        self, *, finished_before: datetime, limit: int
    ) -> Sequence[Execution]:
        async with self._lock:
            expired = sorted(
                (
                    item
                    for item in self._items.values()
                    if item.finished_at is not None and item.finished_at < finished_before
                ),
                key=lambda item: item.id,
            )[:limit]
            for item in expired:
                del self._items[item.id]
                self._started.discard(item.id)
                self._ended.discard(item.id)
            return expired

    async def transition(
        self,
        execution_id: str,
        target: ExecutionStatus,
        *,
        at: datetime,
        result: Result | None = None,
        only_from: ExecutionStatus | None = None,
    ) -> Execution | None:
        async with self._lock:
            current = self._items.get(execution_id)
            if current is None or not can_transition(current.status, target):
                return None
            if only_from is not None and current.status is not only_from:
                return None
            updated = current.transitioned(target, at=at, result=result)
            self._items[execution_id] = updated
            return updated

    async def list_unfinished(self, *, created_before: datetime, limit: int) -> Sequence[Execution]:
        unfinished = [
            item
            for item in self._items.values()
            if not item.status.is_terminal and item.created_at < created_before
        ]
        return sorted(unfinished, key=lambda item: item.id)[:limit]

    async def claim_start(self, execution_id: str) -> bool:
        first = execution_id not in self._started
        self._started.add(execution_id)
        return first

    async def mark_run_ended(self, execution_id: str) -> None:
        self._ended.add(execution_id)

    async def run_ended(self, execution_id: str) -> bool:
        return execution_id in self._ended

    async def mark_published(self, execution_id: str) -> None:
        self._unpublished.discard(execution_id)

    async def list_unpublished(
        self, *, created_before: datetime, limit: int
    ) -> Sequence[Execution]:
        unpublished = [
            item
            for item in map(self._items.__getitem__, self._unpublished)
            if item.status is ExecutionStatus.QUEUED and item.created_at < created_before
        ]
        return sorted(unpublished, key=lambda item: item.id)[:limit]

    async def count(self, status: ExecutionStatus) -> int:
        return sum(1 for item in self._items.values() if item.status is status)

    async def update_webhook(
        self, execution_id: str, webhook: WebhookDelivery, *, if_attempts: int
    ) -> bool:
        async with self._lock:
            current = self._items.get(execution_id)
            if current is None or current.webhook is None:
                return False
            if current.webhook.attempts != if_attempts:
                return False
            self._items[execution_id] = current.model_copy(update={"webhook": webhook})
            return True

    async def list_webhooks_due(self, *, at: datetime, limit: int) -> Sequence[Execution]:
        due = [
            item
            for item in self._items.values()
            if item.status.is_terminal and item.webhook is not None and item.webhook.is_due(at)
        ]
        return sorted(due, key=lambda item: item.id)[:limit]

    async def ping(self) -> None:
        return None
