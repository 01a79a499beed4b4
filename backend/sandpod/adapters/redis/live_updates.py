"""Live status updates over Redis pub/sub: one channel per execution."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from sandpod.adapters.redis.errors import DOWN_ERRORS, address, unavailable_when_down
from sandpod.domain.events import StatusUpdate
from sandpod.ports import ServiceUnavailableError

log = logging.getLogger(__name__)


class RedisLiveUpdates:
    def __init__(
        self,
        client: Redis,
        prefix: str,
        *,
        queue_size: int = 64,
        confirm_timeout_seconds: float = 5.0,
        max_retry_delay_seconds: float = 2.0,
    ) -> None:
        self._client = client
        self._prefix = f"{prefix}live:"
        self._queue_size = queue_size
        self._confirm_timeout = confirm_timeout_seconds
        self._max_retry_delay = max_retry_delay_seconds
        self._open: set[Subscription] = set()

    async def publish(self, update: StatusUpdate) -> None:
        with unavailable_when_down(self._client):
            await self._client.publish(self._channel(update.execution_id), update.model_dump_json())

    @asynccontextmanager
    async def subscribe(self, execution_id: str) -> AsyncIterator[AsyncIterator[StatusUpdate]]:
        subscription = Subscription(
            self._client,
            self._channel(execution_id),
            queue_size=self._queue_size,
            confirm_timeout_seconds=self._confirm_timeout,
            max_retry_delay_seconds=self._max_retry_delay,
        )
        await subscription.open()
        self._open.add(subscription)
        try:
            yield subscription
        finally:
            self._open.discard(subscription)
            await subscription.close()

    async def close(self) -> None:
        for subscription in list(self._open):
            await subscription.close()
        self._open.clear()

    def _channel(self, execution_id: str) -> str:
        return f"{self._prefix}{execution_id}"


class Subscription:
    """One channel's updates, read by a background task into a queue.

    A queue rather than an async generator: a reader whose wait is cancelled (wait_for timing
    out) keeps its place instead of closing the iterator. A task so that a lost connection is
    re-established without the reader noticing; updates published while Redis was away are lost,
    which listeners already cover by re-reading the store.
    """

    def __init__(
        self,
        client: Redis,
        channel: str,
        *,
        queue_size: int,
        confirm_timeout_seconds: float,
        max_retry_delay_seconds: float,
    ) -> None:
        self._client = client
        self._channel = channel
        self._queue: asyncio.Queue[StatusUpdate] = asyncio.Queue(queue_size)
        self._confirm_timeout = confirm_timeout_seconds
        self._max_retry_delay = max_retry_delay_seconds
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Subscribe and wait for Redis to confirm, so nothing published afterwards is missed."""
        self._pubsub = await self._connect()
        self._reader = asyncio.create_task(self._read(), name=f"redis-subscription {self._channel}")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._discard()

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> StatusUpdate:
        return await self._queue.get()

    async def _connect(self) -> PubSub:
        pubsub = self._client.pubsub()
        try:
            with unavailable_when_down(self._client):
                await pubsub.subscribe(self._channel)
                await self._confirmed(pubsub)
        except BaseException:
            await _close_quietly(pubsub)
            raise
        return pubsub

    async def _confirmed(self, pubsub: PubSub) -> None:
        # SUBSCRIBE is sent at once but only in force when Redis answers it.
        try:
            async with asyncio.timeout(self._confirm_timeout):
                while True:
                    message = await pubsub.get_message(timeout=self._confirm_timeout)
                    if message is not None and message["type"] == "subscribe":
                        return
        except TimeoutError:
            raise ServiceUnavailableError(
                f"Redis at {address(self._client)} did not confirm a subscription "
                f"within {self._confirm_timeout:g} s"
            ) from None

    async def _read(self) -> None:
        while True:
            pubsub = self._pubsub
            if pubsub is None:
                pubsub = self._pubsub = await self._reconnect()
            try:
                # A bounded wait, so the client's health-check PINGs run on quiet channels too.
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            except Exception as error:  # any failure: start over on a fresh connection
                log.warning("live updates: lost %s (%s); reconnecting", self._channel, error)
                await self._discard()
                continue
            if message is not None and message["type"] == "message":
                self._deliver(message["data"])

    async def _reconnect(self) -> PubSub:
        delay = 0.05
        while True:
            try:
                pubsub = await self._connect()
            except Exception as error:  # keep trying: the reader is this subscription's only one
                if not isinstance(error, ServiceUnavailableError):
                    log.exception("live updates: resubscribing to %s failed", self._channel)
                await asyncio.sleep(delay)  # reconnect backoff while Redis is away
                delay = min(delay * 2, self._max_retry_delay)
                continue
            log.info("live updates: resubscribed to %s", self._channel)
            return pubsub

    def _deliver(self, data: bytes | str) -> None:
        try:
            update = StatusUpdate.model_validate_json(data)
        except ValidationError:
            log.warning("live updates: ignored a malformed message on %s", self._channel)
            return
        if self._queue.full():  # a stalled listener loses old updates, never blocks the reader
            self._queue.get_nowait()
        self._queue.put_nowait(update)

    async def _discard(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await _close_quietly(pubsub)


async def _close_quietly(pubsub: PubSub) -> None:
    # Closing drops the connection without a round trip; a dead one may still complain.
    with contextlib.suppress(*DOWN_ERRORS, OSError):
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
