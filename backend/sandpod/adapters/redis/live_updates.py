"""Live status updates over Redis pub/sub: one channel per execution.

A subscription holds a connection of its own (the client's pool gives each pub/sub one). An
ended one unsubscribes and, once Redis confirms, leaves its connection idle for the next
subscription: opening one (connect, HELLO) and dropping it cost more CPU than the stream's
whole pub/sub traffic.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
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
        max_idle_connections: int = 16,
    ) -> None:
        self._client = client
        self._prefix = f"{prefix}live:"
        self._queue_size = queue_size
        self._confirm_timeout = confirm_timeout_seconds
        self._max_retry_delay = max_retry_delay_seconds
        self._max_idle = max_idle_connections
        self._open: set[Subscription] = set()
        self._idle: list[PubSub] = []  # unsubscribed, still connected: taken before a new one
        self._ending: set[asyncio.Task[None]] = set()  # subscriptions being closed

    async def publish(self, update: StatusUpdate) -> None:
        with unavailable_when_down(self._client):
            await self._client.publish(self._channel(update.execution_id), update.model_dump_json())

    @asynccontextmanager
    async def subscribe(self, execution_id: str) -> AsyncIterator[AsyncIterator[StatusUpdate]]:
        subscription = Subscription(
            self._client,
            self._pubsub,
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
            # A task of its own: a caller being cancelled (its client gone; anyio cancels every
            # await of a cancelled scope) cannot cut the unsubscribe short and lose the connection.
            ending = asyncio.create_task(self._end(subscription))
            self._ending.add(ending)
            ending.add_done_callback(self._ending.discard)

    async def ended(self) -> None:
        """Wait until the subscriptions left have closed (their connections idle or dropped)."""
        await asyncio.gather(*self._ending, return_exceptions=True)

    async def close(self) -> None:
        await self.ended()
        for subscription in list(self._open):
            await subscription.close()
        self._open.clear()
        idle, self._idle = self._idle, []
        for pubsub in idle:
            await _close_quietly(pubsub)

    async def _end(self, subscription: "Subscription") -> None:
        try:
            if (idle := await subscription.close()) is not None:
                await self._keep(idle)
        except Exception:  # nobody awaits this task: say what went wrong here
            log.exception("live updates: closing a subscription failed")

    def _pubsub(self) -> PubSub:
        """An idle connection's pub/sub, else a new one (it connects on its first command)."""
        return self._idle.pop() if self._idle else self._client.pubsub()

    async def _keep(self, pubsub: PubSub) -> None:
        if len(self._idle) < self._max_idle:
            self._idle.append(pubsub)
        else:
            await _close_quietly(pubsub)

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
        pubsub: Callable[[], PubSub],
        channel: str,
        *,
        queue_size: int,
        confirm_timeout_seconds: float,
        max_retry_delay_seconds: float,
    ) -> None:
        self._client = client
        self._new_pubsub = pubsub  # an idle connection's, or a new one
        self._channel = channel
        self._queue: asyncio.Queue[StatusUpdate] = asyncio.Queue(queue_size)
        self._confirm_timeout = confirm_timeout_seconds
        self._max_retry_delay = max_retry_delay_seconds
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    async def open(self) -> None:
        """Subscribe and wait for Redis to confirm, so nothing published afterwards is missed."""
        self._pubsub = await self._connect()
        self._reader = asyncio.create_task(self._read(), name=f"redis-subscription {self._channel}")

    async def close(self) -> PubSub | None:
        """Stop reading; returns the connection's pub/sub when it unsubscribed cleanly (it may
        serve another subscription), else drops the connection and returns None."""
        self._closing = True
        reader, self._reader = self._reader, None
        pubsub, clean = self._pubsub, False
        try:
            if reader is not None and pubsub is not None:
                clean = await self._unsubscribed(pubsub, reader)
        finally:  # also when the caller is cancelled meanwhile
            if not clean:
                if reader is not None:
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
                await self._discard()
        if not clean:
            return None
        self._pubsub = None
        return pubsub

    async def _unsubscribed(self, pubsub: PubSub, reader: "asyncio.Task[None]") -> bool:
        """Unsubscribe and let the reader end at Redis's confirmation: nothing of this channel
        is left to read on the connection then."""
        if reader.done():
            return False
        try:
            await pubsub.unsubscribe(self._channel)
        except Exception:  # a broken connection: it is dropped, not reused
            return False
        done, _ = await asyncio.wait([reader], timeout=self._confirm_timeout)
        return (
            reader in done
            and not reader.cancelled()
            and reader.exception() is None
            and self._pubsub is pubsub  # the reader did not reconnect meanwhile
            and not pubsub.subscribed
        )

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> StatusUpdate:
        return await self._queue.get()

    async def _connect(self) -> PubSub:
        pubsub = self._new_pubsub()
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
                message = await pubsub.get_message(timeout=5.0)
            except Exception as error:  # any failure: start over on a fresh connection
                await self._discard()
                if self._closing:
                    return
                log.warning("live updates: lost %s (%s); reconnecting", self._channel, error)
                continue
            if message is None:
                continue
            if message["type"] == "message":
                self._deliver(message["data"])
            elif message["type"] == "unsubscribe" and self._closing:
                return  # close() unsubscribed: the connection is clean for another channel

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
