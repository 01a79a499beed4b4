"""One consume() call: a consumer-group member that handles batches and commits after handling.

At least once: a batch's offsets are committed only when every message in it was handled or
dead-lettered. Messages with the same key (execution id) on one partition are handled one after
the other, so an execution's events keep their order even with concurrency > 1.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from sandpod.adapters.kafka.codec import EventCodec
from sandpod.adapters.kafka.options import KafkaOptions
from sandpod.adapters.kafka.registry import RegistryUnavailableError, UnknownSchemaError
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


DeadLetterSink = Callable[[Record, str, str, int], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    group_id: str
    types_by_topic: dict[str, EventType]
    handler: EventHandler
    concurrency: int
    offset_reset: str  # "earliest" for work queues, "latest" for broadcast


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff: base, 2*base, 4*base, ... up to cap."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


class _WaitForBatch(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before giving partitions away, let the batch in flight finish and commit (bounded)."""

    def __init__(self, idle: asyncio.Event, group_id: str, wait_seconds: float) -> None:
        self._idle = idle
        self._group_id = group_id
        self._wait = wait_seconds

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        try:
            await asyncio.wait_for(self._idle.wait(), self._wait)
        except TimeoutError:
            log.warning(
                "rebalance while a batch is still running; it may be redelivered",
                extra={"group": self._group_id},
            )

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        partitions = sorted(f"{tp.topic}:{tp.partition}" for tp in assigned)
        log.info("partitions assigned", extra={"group": self._group_id, "partitions": partitions})


class GroupConsumer:
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
        self._idle = asyncio.Event()
        self._idle.set()

    async def run(self) -> None:
        """Consume until cancelled. A lost broker is waited out: the member rejoins by itself."""
        failures = 0
        while True:
            consumer = self._new_consumer()
            try:
                await consumer.start()
                consumer.subscribe(
                    list(self._sub.types_by_topic),
                    listener=_WaitForBatch(
                        self._idle, self._sub.group_id, self._options.revoke_wait_seconds
                    ),
                )
                failures = 0
                await self._poll(consumer)
            except KafkaError as error:
                failures += 1
                log.warning(
                    "Kafka consumer failed; reconnecting",
                    extra={"group": self._sub.group_id, "error": repr(error)},
                )
            finally:
                await _stop_quietly(consumer, self._sub.group_id)
            await asyncio.sleep(backoff(failures, 0.2, self._options.reconnect_max_seconds))

    def _new_consumer(self) -> AIOKafkaConsumer:
        options = self._options
        return AIOKafkaConsumer(
            bootstrap_servers=options.bootstrap_servers,
            client_id=options.client_id,
            group_id=self._sub.group_id,
            enable_auto_commit=False,
            auto_offset_reset=self._sub.offset_reset,
            session_timeout_ms=options.session_timeout_ms,
            heartbeat_interval_ms=options.heartbeat_interval_ms,
            max_poll_interval_ms=options.max_poll_interval_ms,
            request_timeout_ms=options.request_timeout_ms,
            fetch_max_wait_ms=options.fetch_max_wait_ms,
            retry_backoff_ms=100,
        )

    async def _poll(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch: dict[TopicPartition, list[Record]] = await consumer.getmany(
                timeout_ms=1000, max_records=self._sub.concurrency
            )
            if not batch:
                continue
            self._idle.clear()
            try:
                await self._handle_batch(batch)
                await self._commit(consumer, batch)
            finally:
                self._idle.set()

    async def _handle_batch(self, batch: dict[TopicPartition, list[Record]]) -> None:
        chains: defaultdict[tuple[TopicPartition, bytes | None], list[Record]] = defaultdict(list)
        for partition, records in batch.items():
            for record in records:
                chains[(partition, record.key)].append(record)
        async with asyncio.TaskGroup() as tasks:
            for chain in chains.values():
                tasks.create_task(self._handle_chain(chain))

    async def _handle_chain(self, records: Sequence[Record]) -> None:
        for record in records:
            await self._handle(record)

    async def _handle(self, record: Record) -> None:
        event_type = self._sub.types_by_topic[record.topic]
        event = await self._decode(record, event_type)
        if event is not None:
            await self._deliver(record, event)

    async def _decode(self, record: Record, event_type: EventType) -> Event | None:
        waits = 0
        while True:
            try:
                return await self._codec.decode(event_type, record.value)
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

    async def _commit(
        self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[Record]]
    ) -> None:
        # Partitions lost in a rebalance meanwhile are not ours to commit; their new owner
        # will see those messages again (at least once).
        assigned = consumer.assignment()
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items() if tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as error:
            log.warning(
                "offset commit failed; the batch may be delivered again",
                extra={"group": self._sub.group_id, "error": repr(error)},
            )


def _where(record: Record, error: BaseException) -> dict[str, Any]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "execution_id": record.key.decode(errors="replace") if record.key else None,
        "error": f"{type(error).__name__}: {error}",
    }


async def _stop_quietly(consumer: AIOKafkaConsumer, group_id: str) -> None:
    try:
        await consumer.stop()
    except Exception:
        log.warning("stopping a Kafka consumer failed", extra={"group": group_id}, exc_info=True)
