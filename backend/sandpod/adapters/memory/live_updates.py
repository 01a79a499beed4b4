"""Live status updates fanned out to in-process subscribers."""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sandpod.domain.events import StatusUpdate


class _Updates:
    """An async iterator over one subscriber's queue.

    A class rather than an async generator: a reader may time out waiting (asyncio.wait_for
    on __anext__) and read again, which would close a generator for good.
    """

    def __init__(self, queue: asyncio.Queue[StatusUpdate]) -> None:
        self._queue = queue

    def __aiter__(self) -> "_Updates":
        return self

    async def __anext__(self) -> StatusUpdate:
        return await self._queue.get()


class InMemoryLiveUpdates:
    def __init__(self, queue_size: int = 64) -> None:
        self._subscribers: defaultdict[str, set[asyncio.Queue[StatusUpdate]]] = defaultdict(set)
        self._queue_size = queue_size

    async def publish(self, update: StatusUpdate) -> None:
        for queue in list(self._subscribers.get(update.execution_id, ())):
            if queue.full():  # a stalled listener loses old updates, never blocks publishers
                queue.get_nowait()
            queue.put_nowait(update)

    @asynccontextmanager
    async def subscribe(self, execution_id: str) -> AsyncIterator[AsyncIterator[StatusUpdate]]:
        queue: asyncio.Queue[StatusUpdate] = asyncio.Queue(self._queue_size)
        self._subscribers[execution_id].add(queue)
        try:
            yield _Updates(queue)
        finally:
            listeners = self._subscribers[execution_id]
            listeners.discard(queue)
            if not listeners:
                del self._subscribers[execution_id]
