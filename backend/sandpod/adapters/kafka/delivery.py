"""Handling one record: skip the event types the subscription does not want, decode it, call the
handler with bounded retries, dead-letter what cannot be handled. Outages (the registry, a
handler's ServiceUnavailableError) are waited out instead."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sandpod.adapters.kafka.codec import EventCodec
from sandpod.adapters.kafka.options import KafkaOptions
from sandpod.adapters.kafka.registry import RegistryUnavailableError, UnknownSchemaError
from sandpod.adapters.kafka.topics import EVENT_TYPE_HEADER
from sandpod.adapters.kafka.wire_format import MalformedMessageError
from sandpod.domain.events import Event, EventType
from sandpod.ports import EventHandler, ServiceUnavailableError

log = logging.getLogger(__name__)


class Record(Protocol):
    """The fields of aiokafka's ConsumerRecord this adapter reads (aiokafka is untyped here)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


DeadLetterSink = Callable[[Record, str, str, int], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    group_id: str
    topic: str
    types: frozenset[EventType]  # the others are skipped (and committed) unhandled
    handler: EventHandler
    concurrency: int
    offset_reset: str  # "earliest" for work queues, "latest" for broadcast


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff: base, 2*base, 4*base, ... up to cap."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


class RecordHandler:
    """Returns once the record is handled or dead-lettered; never raises for a bad record."""

    def __init__(
        self,
        subscription: Subscription,
        *,
        options: KafkaOptions,
        codec: EventCodec,
        dead_letter: DeadLetterSink,
    ) -> None:
        self._sub = subscription
        self._options = options
        self._codec = codec
        self._dead_letter = dead_letter

    def wants(self, record: Record) -> bool:
        """False when the record's header names a type this subscription skips: no decoding.
        A record without the header is decoded to find out."""
        for name, value in record.headers:
            if name == EVENT_TYPE_HEADER:
                return value.decode(errors="replace") in self._sub.types
        return True

    async def __call__(self, record: Record) -> None:
        event = await self._decode(record)
        if event is not None and event.type in self._sub.types:
            await self._deliver(record, event)

    async def _decode(self, record: Record) -> Event | None:
        waits = 0
        while True:
            try:
                return await self._codec.decode(record.value)
            except (MalformedMessageError, UnknownSchemaError) as error:
                # It will never decode: retrying cannot help, and it must not block the partition.
                await self._dead_letter(record, f"undecodable: {error}", self._sub.group_id, 0)
                return None
            except RegistryUnavailableError as error:
                waits += 1
                log.warning("schema registry unavailable; waiting", extra=_where(record, error))
                await asyncio.sleep(backoff(waits, 0.2, self._options.reconnect_max_seconds))

    async def _deliver(self, record: Record, event: Event) -> None:
        options = self._options
        attempt = 0
        outages = 0
        while True:
            try:
                await self._sub.handler(event)
                return
            except ServiceUnavailableError as error:
                # A backing service is down, the event is fine: wait, do not spend attempts.
                outages += 1
                log.warning("handler hit an outage; retrying", extra=_where(record, error))
                await asyncio.sleep(backoff(outages, 0.2, options.reconnect_max_seconds))
            except Exception as error:
                attempt += 1
                reason = f"handler failed {attempt} times: {type(error).__name__}: {error}"
                log.warning(
                    "handler failed",
                    extra={**_where(record, error), "attempt": attempt},
                    exc_info=True,
                )
                if attempt >= options.max_attempts:
                    await self._dead_letter(record, reason, self._sub.group_id, attempt)
                    return
                await asyncio.sleep(
                    backoff(attempt, options.retry_base_seconds, options.retry_max_seconds)
                )


def _where(record: Record, error: BaseException) -> dict[str, Any]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "execution_id": record.key.decode(errors="replace") if record.key else None,
        "error": f"{type(error).__name__}: {error}",
    }
