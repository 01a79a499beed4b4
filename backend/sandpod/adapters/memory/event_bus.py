"""In-process event bus with consumer groups, bounded retries and a dead-letter list.

The same delivery rules as the Kafka bus: one execution's events reach a group's handlers one
after the other in publish order, while other executions' events run alongside (Kafka's
per-partition order, key by key); a handler failure is retried with backoff and, after
`max_attempts`, dead-lettered; a ServiceUnavailableError (a backing service is down, the event
is fine) is retried with backoff until it passes, and spends no attempts.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from sandpod.domain.events import Event, EventType
from sandpod.ports import EventHandler, ServiceUnavailableError

log = logging.getLogger(__name__)


@dataclass
class _Subscriber:
    """A group (or one broadcast listener): its events, and the executions being handled."""

    types: frozenset[EventType]
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    # execution id -> its events taken off the queue, the first being handled now
    in_hand: dict[str, deque[Event]] = field(default_factory=dict)


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
        self._groups: dict[str, _Subscriber] = {}
        self._listeners: list[_Subscriber] = []
        # Events published before any group wanted them wait here, so startup order loses nothing.
        self._backlog: list[Event] = []
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
        for listener in self._listeners:
            if event.type in listener.types:
                listener.queue.put_nowait(event)
        if not claimed:
            self._backlog.append(event)

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
            subscriber = _Subscriber(wanted)
            self._listeners.append(subscriber)
        else:
            subscriber = self._join(group, wanted)
        try:
            async with asyncio.TaskGroup() as workers:
                for _ in range(max(1, concurrency)):
                    workers.create_task(self._work(group, subscriber, handler))
        finally:
            if broadcast:
                self._listeners.remove(subscriber)

    async def ping(self) -> None:
        return None

    def _join(self, name: str, types: frozenset[EventType]) -> _Subscriber:
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = _Subscriber(types)
        elif group.types != types:
            raise ValueError(f"group {name!r} already consumes {sorted(group.types)}")
        for event in self._backlog:  # in publish order
            if event.type in types:
                group.queue.put_nowait(event)
        self._backlog = [event for event in self._backlog if event.type not in types]
        return group

    async def _work(self, group: str, subscriber: _Subscriber, handler: EventHandler) -> None:
        while True:
            event = await subscriber.queue.get()
            in_hand = subscriber.in_hand.get(event.execution_id)
            if in_hand is not None:
                in_hand.append(event)  # its worker handles it after the ones before it
                continue
            in_hand = subscriber.in_hand[event.execution_id] = deque([event])
            try:
                while in_hand:
                    await self._deliver(group, in_hand[0], handler)
                    in_hand.popleft()
            finally:
                del subscriber.in_hand[event.execution_id]

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
