"""LiveUpdates contract: in-process fan-out and Redis pub/sub deliver the same way."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio.client import PubSub

from sandpod.adapters.redis import RedisAdapters
from sandpod.domain.events import StatusUpdate
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import LiveUpdates

# Guards against a hang, not a speed requirement.
PATIENCE = 10.0


def update(execution_id: str, status: ExecutionStatus) -> StatusUpdate:
    return StatusUpdate(execution_id=execution_id, status=status)


async def receive(updates: AsyncIterator[StatusUpdate]) -> StatusUpdate:
    async with asyncio.timeout(PATIENCE):
        return await anext(updates)


async def test_a_subscriber_receives_what_is_published_after_it_subscribed(
    live_updates: LiveUpdates,
) -> None:
    async with live_updates.subscribe("ex_1") as updates:
        running = update("ex_1", ExecutionStatus.RUNNING)
        done = update("ex_1", ExecutionStatus.COMPLETED)
        await live_updates.publish(running)
        await live_updates.publish(done)
        assert await receive(updates) == running
        assert await receive(updates) == done


async def test_updates_of_other_executions_are_not_received(live_updates: LiveUpdates) -> None:
    async with live_updates.subscribe("ex_1") as updates:
        await live_updates.publish(update("ex_2", ExecutionStatus.RUNNING))
        mine = update("ex_1", ExecutionStatus.FAILED)
        await live_updates.publish(mine)
        # Delivery is in order, so had ex_2's update arrived it would come first.
        assert await receive(updates) == mine


async def test_every_subscriber_receives_each_update(live_updates: LiveUpdates) -> None:
    async with (
        live_updates.subscribe("ex_1") as first,
        live_updates.subscribe("ex_1") as second,
    ):
        running = update("ex_1", ExecutionStatus.RUNNING)
        await live_updates.publish(running)
        assert await receive(first) == running
        assert await receive(second) == running


async def test_an_update_nobody_listened_to_is_not_replayed_later(
    live_updates: LiveUpdates,
) -> None:
    await live_updates.publish(update("ex_nobody", ExecutionStatus.RUNNING))  # and no error
    async with live_updates.subscribe("ex_nobody") as later:
        done = update("ex_nobody", ExecutionStatus.COMPLETED)
        await live_updates.publish(done)
        assert await receive(later) == done  # the first, unheard one was not kept for it


async def test_a_timed_out_wait_does_not_end_the_subscription(live_updates: LiveUpdates) -> None:
    # ExecutionService.watch waits with asyncio.wait_for(anext(updates), ...) and polls the store
    # on timeout; the next wait must still deliver.
    async with live_updates.subscribe("ex_1") as updates:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(updates), 0.05)
        done = update("ex_1", ExecutionStatus.COMPLETED)
        await live_updates.publish(done)
        assert await receive(updates) == done


async def test_a_redis_connection_serves_the_next_subscriptions_without_their_past(
    redis_adapters: RedisAdapters, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, client = redis_adapters.live_updates, redis_adapters.client
    made: list[PubSub] = []
    new_pubsub = client.pubsub

    def counted() -> PubSub:
        made.append(new_pubsub())
        return made[-1]

    monkeypatch.setattr(client, "pubsub", counted)
    for before, execution_id in (("ex_0", "ex_1"), ("ex_1", "ex_2"), ("ex_2", "ex_3")):
        async with live.subscribe(execution_id) as updates:
            # The connection's channel before is no longer heard: only this one's update arrives.
            await live.publish(update(before, ExecutionStatus.RUNNING))
            mine = update(execution_id, ExecutionStatus.COMPLETED)
            await live.publish(mine)
            assert await receive(updates) == mine
        await live.ended()  # a left subscription unsubscribes in the background
    assert len(made) == 1  # one connection, unsubscribed and taken again
