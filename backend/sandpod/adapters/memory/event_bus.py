"""In-process event bus with consumer groups, bounded retries and a dead-letter list.

The same delivery rule as the Kafka bus: a handler failure is retried with backoff and, after
`max_attempts`, dead-lettered; a ServiceUnavailableError (a backing service is down, the event
is fine) is retried with backoff until it passes, and spends no attempts.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sandpod.domain.events import Event, EventType
from sandpod.ports import EventHandler, ServiceUnavailableError

log = logging.getLogger(__name__)


@dataclass
class _Group:
    types: frozenset[EventType]
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)


@dataclass(frozen=True)
class DeadLetter:
    group: str
    event: Event
    reason: str


class InMemoryEventBus:
    def __init__(
        self,
        *,
        max_attempts: int = 5,
        retry_delay_seconds: float = 0.05,
        max_retry_delay_seconds: float = 5.0,
    ) -> None:
        self._groups: dict[str, _Group] = {}
        self._listeners: list[tuple[frozenset[EventType], asyncio.Queue[Event]]] = []
        # Events published before any group wanted them wait here, so startup order loses nothing.
        self._backlog: defaultdict[EventType, list[Event]] = defaultdict(list)
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay_seconds
        self._max_retry_delay = max_retry_delay_seconds
        self.dead_letters: list[DeadLetter] = []

    async def publish(self, event: Event) -> None:
        claimed = False
        for group in self._groups.values():
            if event.type in group.types:
                group.queue.put_nowait(event)
                claimed = True
        for types, queue in self._listeners:
            if event.type in types:
                queue.put_nowait(event)
        if not claimed:
            self._backlog[event.type].append(event)

    async def consume(
        self,
        group: str,
        types: Sequence[EventType],
        handler: EventHandler,
        *,
        concurrency: int = 1,
        broadcast: bool = False,
    ) -> None:
        wanted = frozenset(types)
        if broadcast:
            queue: asyncio.Queue[Event] = asyncio.Queue()
            listener = (wanted, queue)
            self._listeners.append(listener)
        else:
            queue = self._join(group, wanted)
        try:
            async with asyncio.TaskGroup() as workers:
                for _ in range(max(1, concurrency)):
                    workers.create_task(self._work(group, queue, handler))
        finally:
            if broadcast:
                self._listeners.remove(listener)

    async def ping(self) -> None:
        return None

    def _join(self, name: str, types: frozenset[EventType]) -> asyncio.Queue[Event]:
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = _Group(types)
        elif group.types != types:
            raise ValueError(f"group {name!r} already consumes {sorted(group.types)}")
        for event_type in types:
            for event in self._backlog.pop(event_type, []):
                group.queue.put_nowait(event)
        return group.queue

    async def _work(self, group: str, queue: asyncio.Queue[Event], handler: EventHandler) -> None:
        while True:
            event = await queue.get()
            await self._deliver(group, event, handler)

    async def _deliver(self, group: str, event: Event, handler: EventHandler) -> None:
        attempt = 0
        outages = 0
        while True:
            try:
                await handler(event)
                return
            except ServiceUnavailableError as error:
                outages += 1
                log.warning(
                    "handler hit an outage; retrying",
                    extra={"group": group, "execution_id": event.execution_id, "error": str(error)},
                )
                await asyncio.sleep(self._backoff(outages))
            except Exception as error:
                attempt += 1
                reason = f"handler failed {attempt} times: {type(error).__name__}: {error}"
                log.warning(
                    "handler failed",
                    extra={"group": group, "execution_id": event.execution_id, "attempt": attempt},
                    exc_info=True,
                )
                if attempt >= self._max_attempts:
                    self.dead_letters.append(DeadLetter(group, event, reason))
                    log.error(
                        "event dead-lettered",
                        extra={"group": group, "execution_id": event.execution_id},
                    )
                    return
                await asyncio.sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        return float(min(self._max_retry_delay, self._retry_delay * 2 ** (attempt - 1)))
