"""One consume() call: a consumer-group member that keeps a sliding window of handlers busy.

Up to `concurrency` handlers run at any time, and a slot that frees takes the next fetched record
at once, so one slow handler never idles the others. Fetching runs ahead of handling and pauses
while _PREFETCH records wait for a slot, so memory stays bounded. Records of one key (execution
id) share a partition, so Kafka fetches them in the order they were published; they are handled
one after the other in that order (a record waiting for its turn holds a slot). Records of event
types the member does not want are skipped by their header, without decoding or a slot.

At least once: per partition, the committed offset never passes a record that is not handled or
dead-lettered yet (offsets.py); it is committed after completions, coalesced over a short
interval (one commit covers every record handled within it). On a rebalance the revoked
partitions' queued records are dropped, their running handlers may finish (bounded), what is safe
is committed and the rest is left to the new owner. Cancelling consume() cancels the handlers and
commits what was handled before (briefly bounded), nothing more.
"""

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Hashable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from sandpod.adapters.kafka.codec import EventCodec
from sandpod.adapters.kafka.delivery import (
    DeadLetterSink,
    Record,
    RecordHandler,
    Subscription,
    backoff,
)
from sandpod.adapters.kafka.offsets import OffsetWindow, PartitionOffsets
from sandpod.adapters.kafka.options import KafkaOptions

log = logging.getLogger(__name__)

_FINAL_COMMIT_SECONDS = 2.0  # a stopping consumer's last commit; past it, redelivery covers
_PREFETCH = 100  # fetching pauses while this many records wait for a handler slot
_FETCH_MAX_BYTES = 50 * 1024 * 1024  # aiokafka's default
_Queued = tuple[TopicPartition, Record, PartitionOffsets]


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
        self._handle = RecordHandler(
            subscription, options=options, codec=codec, dead_letter=dead_letter
        )

    async def run(self) -> None:
        """Consume until cancelled. A lost broker is waited out: the member rejoins by itself."""
        failures = 0
        while True:
            consumer = self._new_consumer()
            try:
                await consumer.start()
                window = _Window(
                    consumer,
                    self._handle,
                    size=self._sub.concurrency,
                    group_id=self._sub.group_id,
                    revoke_wait=self._options.revoke_wait_seconds,
                    commit_interval=self._options.commit_interval_seconds,
                )
                consumer.subscribe([self._sub.topic], listener=window)
                failures = 0
                await window.run()
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
            # A fetch must be able to hold the largest record (a finished event's result).
            max_partition_fetch_bytes=options.max_message_bytes,
            fetch_max_bytes=max(_FETCH_MAX_BYTES, options.max_message_bytes),
            retry_backoff_ms=100,
            **options.client_security(),
        )


class _Window(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped (Any base)
    """One connection's consuming: fetch ahead, keep the handler slots busy, commit, rebalance."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handle: RecordHandler,
        *,
        size: int,
        group_id: str,
        revoke_wait: float,
        commit_interval: float,
    ) -> None:
        self._consumer = consumer
        self._handle = handle
        self._size = size
        self._group_id = group_id
        self._revoke_wait = revoke_wait
        self._commit_interval = commit_interval
        self._offsets = OffsetWindow()
        self._queued: deque[_Queued] = deque()  # fetched, waiting for a slot
        self._running: dict[asyncio.Task[None], TopicPartition] = {}  # holding a slot
        self._tails: dict[Hashable, asyncio.Task[None]] = {}  # the last record of each chain
        self._queue_shrank = asyncio.Event()  # cleared only by the fetch loop
        self._progress = asyncio.Event()  # cleared only by the committer
        self._commit_lock = asyncio.Lock()
        self._crash: BaseException | None = None

    async def run(self) -> None:
        committer = asyncio.create_task(self._commit_on_progress())
        committer.add_done_callback(self._note_crash)
        try:
            await self._fetch_forever()
        except KafkaError:
            # Fetching broke: let running handlers (sandboxes) finish and commit, then reconnect.
            self._queued.clear()
            if self._running:
                await asyncio.wait(list(self._running))
            await self._commit(self._consumer.assignment())
            raise
        finally:
            self._queued.clear()  # nothing new starts; the queued records stay uncommitted
            tasks = [committer, *self._running]
            for task in tasks:
                task.cancel()  # cancelled handlers stay pending: never committed
            await asyncio.gather(*tasks, return_exceptions=True)
            # What was handled within the last commit interval is committed now, not redelivered.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(_FINAL_COMMIT_SECONDS):
                    await self._commit(self._consumer.assignment())

    async def _fetch_forever(self) -> None:
        while True:
            while self._crash is None and len(self._queued) >= _PREFETCH:
                self._queue_shrank.clear()
                await self._queue_shrank.wait()
            if self._crash is not None:
                raise self._crash
            batch: dict[TopicPartition, list[Record]] = await self._consumer.getmany(
                timeout_ms=1000, max_records=_PREFETCH
            )
            for partition, records in batch.items():
                for record in records:
                    offsets = self._offsets.fetched(partition, record.offset)
                    if self._handle.wants(record):
                        self._queued.append((partition, record, offsets))
                    else:
                        offsets.handled(record.offset)
                        self._progress.set()
            self._start_queued()

    def _start_queued(self) -> None:
        while self._queued and len(self._running) < self._size:
            partition, record, offsets = self._queued.popleft()
            chain = _chain(partition, record)
            previous = self._tails.get(chain)
            task = asyncio.create_task(self._handle_in_turn(previous, record, offsets))
            task.add_done_callback(functools.partial(self._finished, chain))
            self._running[task] = partition
            self._tails[chain] = task
            self._queue_shrank.set()

    async def _handle_in_turn(
        self, previous: asyncio.Task[None] | None, record: Record, offsets: PartitionOffsets
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # same execution: one after the other
        await self._handle(record)
        offsets.handled(record.offset)
        self._progress.set()

    def _finished(self, chain: Hashable, task: asyncio.Task[None]) -> None:
        del self._running[task]
        if self._tails.get(chain) is task:
            del self._tails[chain]
        self._note_crash(task)
        self._start_queued()

    def _note_crash(self, task: asyncio.Task[None]) -> None:
        """A handler or the committer failed unexpectedly (a bug): consume() fails with it."""
        if not task.cancelled() and task.exception() is not None and self._crash is None:
            self._crash = task.exception()
            self._queue_shrank.set()  # wakes the fetch loop to raise it

    async def _commit_on_progress(self) -> None:
        while True:
            await self._progress.wait()
            # Let the handlers that finish meanwhile join this commit.
            await asyncio.sleep(self._commit_interval)
            self._progress.clear()
            await self._commit(self._consumer.assignment())

    async def _commit(self, partitions: set[TopicPartition]) -> None:
        async with self._commit_lock:
            # Partitions lost in a rebalance are not ours to commit: their new owner redelivers.
            positions = self._offsets.committable(partitions & self._consumer.assignment())
            if not positions:
                return
            try:
                await self._consumer.commit(positions)
            except KafkaError as error:
                log.warning(
                    "offset commit failed; handled records may be delivered again",
                    extra={"group": self._group_id, "error": repr(error)},
                )
            else:
                self._offsets.committed(positions)

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        revoked = set(revoked)
        self._queued = deque(queued for queued in self._queued if queued[0] not in revoked)
        self._queue_shrank.set()
        running = [task for task, partition in self._running.items() if partition in revoked]
        if running:
            _, unfinished = await asyncio.wait(running, timeout=self._revoke_wait)
            if unfinished:
                log.warning(
                    "rebalance while handlers still run; their records may be redelivered",
                    extra={"group": self._group_id, "running": len(unfinished)},
                )
        await self._commit(revoked)
        self._offsets.forget(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        partitions = sorted(f"{tp.topic}:{tp.partition}" for tp in assigned)
        log.info("partitions assigned", extra={"group": self._group_id, "partitions": partitions})


def _chain(partition: TopicPartition, record: Record) -> Hashable:
    """Records handled one after the other: one key's, and keyless ones per partition."""
    return record.key if record.key is not None else partition


async def _stop_quietly(consumer: AIOKafkaConsumer, group_id: str) -> None:
    try:
        await consumer.stop()
    except Exception:
        log.warning("stopping a Kafka consumer failed", extra={"group": group_id}, exc_info=True)
