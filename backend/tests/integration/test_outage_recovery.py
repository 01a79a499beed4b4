"""The Mongo and Redis adapters survive their server going away, without being re-created.

While the server is down every call raises ServiceUnavailableError (quickly, with a clear message);
once it is back the same adapter instances work again. Each test runs a throwaway server on free
ports (tests/fixtures/throwaway.py), so the shared servers other xdist workers use are never
disturbed.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest

from sandpod.adapters.mongo import MongoExecutionStore, connect_mongo, mongo_client
from sandpod.adapters.redis import connect_redis
from sandpod.domain.events import StatusUpdate
from sandpod.domain.execution import Execution, ExecutionSpec, utcnow
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason, Result
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import ServiceUnavailableError
from tests import isolation
from tests.fixtures.throwaway import Server
from tests.waiting import eventually

READY_SECONDS = 30.0  # how long a restarted server (and a client finding it again) may take
LEASE_SECONDS = 0.5  # claim lease of the cut-off test's stores (production: 30 s)


async def reconnected(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await eventually(
        check,
        timeout=READY_SECONDS,
        interval=0.1,
        ignoring=(ServiceUnavailableError,),
        what=what,
    )


async def answers(call: Callable[[], Awaitable[object]]) -> bool:
    await call()
    return True


def now() -> datetime:
    value = utcnow()  # BSON dates keep milliseconds
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def execution() -> Execution:
    spec = ExecutionSpec(runtime="python:3.12", script="print(1)", limits=DEFAULT_POLICY.defaults)
    return Execution(owner="alice", spec=spec, created_at=now())


async def test_redis_adapters_fail_fast_while_down_and_recover(
    redis_server: tuple[Server, str],
) -> None:
    server, url = redis_server
    settings = isolation.isolated_settings(unique=True, redis={"url": url})
    adapters = await connect_redis(settings.redis)
    limiter, keys, live = adapters.rate_limiter, adapters.idempotency, adapters.live_updates
    update = StatusUpdate(execution_id="ex_1", status=ExecutionStatus.RUNNING)
    try:
        assert (await limiter.hit("alice", limit=5, window_seconds=3600)).allowed
        async with live.subscribe("ex_1") as opened_before:
            server.kill()

            with pytest.raises(ServiceUnavailableError, match=r"Redis at 127\.0\.0\.1:\d+"):
                await adapters.ping()
            with pytest.raises(ServiceUnavailableError):
                await limiter.hit("alice", limit=5, window_seconds=3600)
            with pytest.raises(ServiceUnavailableError):
                await keys.claim("alice", "key", "fp", "ex_1", 60)
            with pytest.raises(ServiceUnavailableError):
                await keys.release("alice", "key")
            with pytest.raises(ServiceUnavailableError):
                await live.publish(update)
            with pytest.raises(ServiceUnavailableError):
                async with live.subscribe("ex_1"):
                    pass

            server.start()
            await reconnected(lambda: answers(adapters.ping), "the client reconnecting")
            assert (await limiter.hit("alice", limit=5, window_seconds=3600)).allowed
            assert await keys.claim("alice", "key", "fp", "ex_1", 60) is None
            assert await keys.claim("alice", "key", "fp", "ex_2", 60) == ("fp", "ex_1")

            channel = f"{settings.redis.prefix}live:ex_1"

            async def subscribers() -> int:
                [(_, count)] = await adapters.client.pubsub_numsub(channel)
                return int(count)

            async with live.subscribe("ex_1") as opened_after:
                # The subscription from before the outage re-subscribes by itself.
                await reconnected(lambda: _equals(subscribers(), 2), "the old subscription")
                await live.publish(update)
                async with asyncio.timeout(READY_SECONDS):
                    assert await anext(opened_after) == update
                    assert await anext(opened_before) == update
    finally:
        await adapters.close()


async def test_a_live_updates_connection_kept_idle_over_a_redis_restart_still_subscribes(
    redis_server: tuple[Server, str],
) -> None:
    server, url = redis_server
    settings = isolation.isolated_settings(unique=True, redis={"url": url})
    adapters = await connect_redis(settings.redis)
    live = adapters.live_updates
    update = StatusUpdate(execution_id="ex_1", status=ExecutionStatus.COMPLETED)
    try:
        async with live.subscribe("ex_0"):
            pass
        await live.ended()  # its connection is kept idle for the next subscription
        server.kill()
        server.start()
        await reconnected(lambda: answers(adapters.ping), "the client reconnecting")
        # The first subscription after the restart takes the dead idle connection: it connects
        # again by itself instead of failing.
        async with live.subscribe("ex_1") as updates:
            await live.publish(update)
            async with asyncio.timeout(READY_SECONDS):
                assert await anext(updates) == update
    finally:
        await adapters.close()


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_mongo_store_fails_fast_while_down_and_recovers(
    ferretdb_server: tuple[Server, str],
) -> None:
    server, url = ferretdb_server
    settings = isolation.isolated_settings(
        mongo={"url": url, "database": isolation.mongo_database(unique=True)}
    )
    store = await connect_mongo(settings.mongo)
    item = execution()
    try:
        await store.add(item)
        server.kill()

        with pytest.raises(ServiceUnavailableError, match=r"MongoDB at 127\.0\.0\.1:\d+"):
            await store.ping()
        with pytest.raises(ServiceUnavailableError):
            await store.get(item.id)
        with pytest.raises(ServiceUnavailableError):
            await store.add(execution())
        with pytest.raises(ServiceUnavailableError):
            await store.transition(item.id, ExecutionStatus.RUNNING, at=now())

        server.start()
        await reconnected(lambda: answers(store.ping), "the client reconnecting")
        assert await store.get(item.id) == item  # FerretDB's SQLite files kept it
        running = await store.transition(item.id, ExecutionStatus.RUNNING, at=now())
        assert running is not None
        assert running.status is ExecutionStatus.RUNNING
    finally:
        await store.close()


@pytest.mark.parametrize("stuck", [ExecutionStatus.RUNNING, ExecutionStatus.COMPLETED])
async def test_a_status_change_cut_off_after_its_claim_is_finished_by_the_next_writer(
    ferretdb_server: tuple[Server, str],
    monkeypatch: pytest.MonkeyPatch,
    stuck: ExecutionStatus,
) -> None:
    # The writer claims the change, then loses the database before writing it (see claims.py).
    _, url = ferretdb_server
    database = isolation.mongo_database(unique=True)
    first = MongoExecutionStore(mongo_client(url), database, claim_lease_seconds=LEASE_SECONDS)
    later = MongoExecutionStore(mongo_client(url), database, claim_lease_seconds=LEASE_SECONDS)
    impatient = MongoExecutionStore(mongo_client(url), database, max_attempts=2)
    item = execution()
    result = Result(end_reason=EndReason.COMPLETED, exit_code=0)
    try:
        await first.add(item)

        async def cut_off(*_: object) -> None:
            raise ServiceUnavailableError("the database went away between claim and write")

        monkeypatch.setattr(first._changes, "_write", cut_off)
        claimed_at = now()
        with pytest.raises(ServiceUnavailableError):
            await first.transition(item.id, stuck, at=claimed_at, result=result)
        assert (await later.get(item.id)) == item  # claimed, not written

        # Inside the lease the claimant may still be writing: a change that could follow it
        # waits, then gives up; one that it rules out (a second terminal status) is refused.
        if stuck.is_terminal:
            assert await impatient.transition(item.id, ExecutionStatus.ERRORED, at=now()) is None
        else:
            with pytest.raises(ServiceUnavailableError, match="unfinished change"):
                await impatient.transition(item.id, ExecutionStatus.ERRORED, at=now())

        # Once the lease is over, the next writer (here: the timeout sweep) writes the cut-off
        # change, then tries its own.
        await asyncio.sleep(LEASE_SECONDS)  # the lease running out is the behaviour under test
        swept = await later.transition(item.id, ExecutionStatus.ERRORED, at=now())
        final = await later.get(item.id)
        assert final is not None
        if stuck is ExecutionStatus.RUNNING:
            assert swept == final
            assert (final.status, final.started_at, final.version) == (
                ExecutionStatus.ERRORED,
                claimed_at,
                2,
            )
        else:  # the cut-off change was terminal: it stands and the sweep's is refused
            assert swept is None
            assert (final.status, final.result, final.version) == (stuck, result, 1)
    finally:
        for store in (first, later, impatient):
            await store.close()
