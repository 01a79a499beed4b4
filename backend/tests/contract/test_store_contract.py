"""ExecutionStore contract: the in-process store and MongoDB (FerretDB) behave the same."""

import asyncio
import random
from datetime import datetime, timedelta

import pytest

from sandpod.domain.execution import Execution, ExecutionSpec, utcnow
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason, Result
from sandpod.domain.status import TERMINAL_STATUSES, ExecutionStatus
from sandpod.domain.webhooks import RetryPolicy, WebhookDelivery, WebhookState
from sandpod.ports import ExecutionStore

SPEC = ExecutionSpec(runtime="python:3.12", script="print('hi')", limits=DEFAULT_POLICY.defaults)
RESULT = Result(
    end_reason=EndReason.COMPLETED,
    exit_code=0,
    stdout="hi\n",
    wall_seconds=0.25,
    cpu_seconds=0.125,
    peak_memory_bytes=4096,
)
TERMINAL = sorted(TERMINAL_STATUSES)


def now() -> datetime:
    # Stores keep milliseconds (BSON dates), so the tests use times at that precision.
    value = utcnow()
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def execution(owner: str = "alice", *, created_at: datetime | None = None) -> Execution:
    return Execution(owner=owner, spec=SPEC, created_at=created_at or now(), idempotency_key="k")


async def added(store: ExecutionStore, *executions: Execution) -> list[Execution]:
    shuffled = list(executions)
    random.shuffle(shuffled)  # listing order must come from the ids, not from insertion
    for item in shuffled:
        await store.add(item)
    return list(executions)


async def test_add_then_get_returns_the_same_execution(store: ExecutionStore) -> None:
    [item] = await added(store, execution())
    assert await store.get(item.id) == item
    assert await store.get("ex_missing") is None


async def test_add_refuses_a_duplicate_id(store: ExecutionStore) -> None:
    [item] = await added(store, execution())
    with pytest.raises(KeyError):
        await store.add(item)


async def test_list_pages_newest_first(store: ExecutionStore) -> None:
    items = await added(store, *(execution() for _ in range(7)))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await store.list(owner="alice", status=None, after=cursor, limit=3)
        seen += [item.id for item in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted((item.id for item in items), reverse=True)
    assert pages == 3


async def test_list_filters_by_owner_and_status(store: ExecutionStore) -> None:
    alice = await added(store, *(execution("alice") for _ in range(3)))
    bob = await added(store, *(execution("bob") for _ in range(2)))
    await store.transition(alice[0].id, ExecutionStatus.RUNNING, at=now())

    page = await store.list(owner="bob", status=None, after=None, limit=2)
    assert [item.id for item in page.items] == sorted((item.id for item in bob), reverse=True)
    assert page.next_cursor is None  # exactly a page full is the last page

    running = await store.list(owner=None, status=ExecutionStatus.RUNNING, after=None, limit=10)
    assert [item.id for item in running.items] == [alice[0].id]
    queued = await store.list(owner="alice", status=ExecutionStatus.QUEUED, after=None, limit=10)
    assert {item.id for item in queued.items} == {alice[1].id, alice[2].id}
    everyone = await store.list(owner=None, status=None, after=None, limit=10)
    assert len(everyone.items) == 5


async def test_transition_moves_through_the_status_machine(store: ExecutionStore) -> None:
    [item] = await added(store, execution())
    started = now()
    running = await store.transition(item.id, ExecutionStatus.RUNNING, at=started)
    assert running is not None
    assert (running.status, running.started_at, running.version) == (
        ExecutionStatus.RUNNING,
        started,
        1,
    )
    assert await store.get(item.id) == running

    finished = started + timedelta(seconds=1)
    done = await store.transition(item.id, ExecutionStatus.COMPLETED, at=finished, result=RESULT)
    assert done is not None
    assert (done.status, done.finished_at, done.result, done.version) == (
        ExecutionStatus.COMPLETED,
        finished,
        RESULT,
        2,
    )
    assert done.started_at == started
    assert await store.get(item.id) == done


async def test_transition_refuses_illegal_moves(store: ExecutionStore) -> None:
    [item] = await added(store, execution())
    assert await store.transition(item.id, ExecutionStatus.QUEUED, at=now()) is None
    done = await store.transition(item.id, ExecutionStatus.FAILED, at=now(), result=RESULT)
    assert done is not None
    assert await store.transition(item.id, ExecutionStatus.RUNNING, at=now()) is None
    assert await store.transition(item.id, ExecutionStatus.COMPLETED, at=now()) is None
    assert await store.transition("ex_missing", ExecutionStatus.RUNNING, at=now()) is None
    assert await store.get(item.id) == done


async def test_transition_only_from_requires_that_status(store: ExecutionStore) -> None:
    queued, running = await added(store, execution(), execution())
    await store.transition(running.id, ExecutionStatus.RUNNING, at=now())

    cancelled = await store.transition(
        queued.id, ExecutionStatus.CANCELLED, at=now(), only_from=ExecutionStatus.QUEUED
    )
    assert cancelled is not None
    assert cancelled.status is ExecutionStatus.CANCELLED
    refused = await store.transition(
        running.id, ExecutionStatus.CANCELLED, at=now(), only_from=ExecutionStatus.QUEUED
    )
    assert refused is None
    current = await store.get(running.id)
    assert current is not None
    assert current.status is ExecutionStatus.RUNNING


async def test_exactly_one_of_concurrent_terminal_transitions_wins(store: ExecutionStore) -> None:
    items = await added(store, *(execution() for _ in range(5)))
    for item in items:
        await store.transition(item.id, ExecutionStatus.RUNNING, at=now())
    for item in items:
        outcomes = await asyncio.gather(
            *(store.transition(item.id, target, at=now(), result=RESULT) for target in TERMINAL * 2)
        )
        winners = [outcome for outcome in outcomes if outcome is not None]
        assert len(winners) == 1, [winner.status for winner in winners]
        stored = await store.get(item.id)
        assert stored is not None
        assert (stored.status, stored.version) == (winners[0].status, 2)


async def test_concurrent_start_and_finish_end_in_one_terminal_status(
    store: ExecutionStore,
) -> None:
    items = await added(store, *(execution() for _ in range(5)))
    for item in items:
        targets = [ExecutionStatus.RUNNING] * 5 + TERMINAL
        random.shuffle(targets)
        outcomes = await asyncio.gather(
            *(store.transition(item.id, target, at=now(), result=RESULT) for target in targets)
        )
        winners = [outcome.status for outcome in outcomes if outcome is not None]
        terminal = [status for status in winners if status.is_terminal]
        assert len(terminal) == 1, winners
        assert winners.count(ExecutionStatus.RUNNING) <= 1, winners
        stored = await store.get(item.id)
        assert stored is not None
        assert (stored.status, stored.version) == (terminal[0], len(winners))


async def test_list_unfinished_finds_old_queued_and_running(store: ExecutionStore) -> None:
    old = now() - timedelta(hours=2)
    queued, running, finished, recent = await added(
        store,
        execution(created_at=old),
        execution(created_at=old),
        execution(created_at=old),
        execution(),
    )
    await store.transition(running.id, ExecutionStatus.RUNNING, at=now())
    await store.transition(finished.id, ExecutionStatus.COMPLETED, at=now(), result=RESULT)

    cutoff = now() - timedelta(hours=1)
    unfinished = await store.list_unfinished(created_before=cutoff, limit=10)
    assert [item.id for item in unfinished] == sorted([queued.id, running.id])
    assert {item.status for item in unfinished} == {ExecutionStatus.QUEUED, ExecutionStatus.RUNNING}
    first = await store.list_unfinished(created_before=cutoff, limit=1)
    assert [item.id for item in first] == [min(queued.id, running.id)]
    assert recent.id not in {item.id for item in unfinished}


async def test_list_unpublished_finds_old_queued_ones_never_marked_published(
    store: ExecutionStore,
) -> None:
    old = now() - timedelta(hours=2)
    lost, published, started, recent, second_lost = await added(
        store,
        execution(created_at=old),
        execution(created_at=old),
        execution(created_at=old),
        execution(),
        execution(created_at=old),
    )
    await store.mark_published(published.id)
    await store.transition(started.id, ExecutionStatus.RUNNING, at=now())

    cutoff = now() - timedelta(hours=1)
    unpublished = await store.list_unpublished(created_before=cutoff, limit=10)
    assert [item.id for item in unpublished] == sorted([lost.id, second_lost.id])
    assert unpublished[0] == min(lost, second_lost, key=lambda item: item.id)
    first = await store.list_unpublished(created_before=cutoff, limit=1)
    assert [item.id for item in first] == [min(lost.id, second_lost.id)]
    assert recent.id in {
        item.id
        for item in await store.list_unpublished(
            created_before=now() + timedelta(seconds=1), limit=10
        )
    }

    await store.mark_published(lost.id)
    await store.mark_published(lost.id)  # idempotent
    assert [item.id for item in await store.list_unpublished(created_before=cutoff, limit=10)] == [
        second_lost.id
    ]


async def test_a_run_end_is_recorded_per_execution(store: ExecutionStore) -> None:
    ended, running = await added(store, execution(), execution())
    for item in (ended, running):
        assert await store.claim_start(item.id) is True
    await store.mark_run_ended(ended.id)
    await store.mark_run_ended(ended.id)  # idempotent

    assert await store.run_ended(ended.id) is True
    assert await store.run_ended(running.id) is False
    assert await store.run_ended("ex_unknown") is False


async def test_a_start_is_claimed_once_per_execution(store: ExecutionStore) -> None:
    first, second = await added(store, execution(), execution())
    assert await store.claim_start(first.id) is True
    assert await store.claim_start(first.id) is False
    assert await store.claim_start(second.id) is True
    await store.transition(first.id, ExecutionStatus.RUNNING, at=now())
    await store.transition(first.id, ExecutionStatus.COMPLETED, at=now(), result=RESULT)
    assert await store.delete(first.id) is True
    assert await store.claim_start(first.id) is True  # gone with its execution


async def test_count_by_status(store: ExecutionStore) -> None:
    items = await added(store, *(execution() for _ in range(4)))
    await store.transition(items[0].id, ExecutionStatus.RUNNING, at=now())
    await store.transition(items[1].id, ExecutionStatus.ERRORED, at=now(), result=RESULT)
    assert await store.count(ExecutionStatus.QUEUED) == 2
    assert await store.count(ExecutionStatus.RUNNING) == 1
    assert await store.count(ExecutionStatus.ERRORED) == 1
    assert await store.count(ExecutionStatus.COMPLETED) == 0


async def test_list_filters_by_runtime_and_creation_time(store: ExecutionStore) -> None:
    start = now()
    old, middle, new = await added(
        store,
        execution(created_at=start - timedelta(hours=2)),
        Execution(
            owner="alice",
            spec=SPEC.model_copy(update={"runtime": "node:22"}),
            created_at=start - timedelta(hours=1),
        ),
        execution(created_at=start),
    )

    async def ids(
        runtime: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> list[str]:
        page = await store.list(
            owner="alice",
            status=None,
            after=None,
            limit=10,
            runtime=runtime,
            created_after=created_after,
            created_before=created_before,
        )
        return [item.id for item in page.items]

    assert await ids(runtime="python:3.12") == [new.id, old.id]
    assert await ids(runtime="node:22") == [middle.id]
    assert await ids(runtime="ruby:3") == []
    assert await ids(created_after=start - timedelta(minutes=90)) == [new.id, middle.id]
    assert await ids(created_before=start - timedelta(minutes=30)) == [middle.id, old.id]
    # both bounds are exclusive
    assert await ids(created_after=old.created_at, created_before=new.created_at) == [middle.id]
    assert await ids("python:3.12", old.created_at, new.created_at) == []


async def test_delete_removes_only_finished_executions(store: ExecutionStore) -> None:
    queued, running, done = await added(store, execution(), execution(), execution())
    await store.transition(running.id, ExecutionStatus.RUNNING, at=now())
    await store.transition(done.id, ExecutionStatus.COMPLETED, at=now(), result=RESULT)
    assert await store.delete(queued.id) is False
    assert await store.delete(running.id) is False
    assert await store.delete(done.id) is True
    assert await store.get(done.id) is None
    assert await store.delete(done.id) is False  # already gone
    assert await store.delete("ex_missing") is False
    assert {
        item.id
        for item in (await store.list(owner="alice", status=None, after=None, limit=10)).items
    } == {queued.id, running.id}


async def test_delete_finished_removes_what_ended_before_the_cut(store: ExecutionStore) -> None:
    long_ago, lately, unfinished = await added(store, execution(), execution(), execution())
    cut = now()
    await store.transition(
        long_ago.id, ExecutionStatus.FAILED, at=cut - timedelta(days=2), result=RESULT
    )
    await store.transition(
        lately.id, ExecutionStatus.COMPLETED, at=cut + timedelta(seconds=1), result=RESULT
    )
    removed = await store.delete_finished(finished_before=cut, limit=10)
    assert [item.id for item in removed] == [long_ago.id]
    assert removed[0].idempotency_key == "k"
    assert await store.get(long_ago.id) is None
    assert await store.get(lately.id) is not None
    assert await store.get(unfinished.id) is not None
    assert await store.delete_finished(finished_before=cut, limit=10) == []


async def test_delete_finished_takes_at_most_the_limit(store: ExecutionStore) -> None:
    items = await added(store, *(execution() for _ in range(5)))
    for item in items:
        await store.transition(
            item.id, ExecutionStatus.COMPLETED, at=now() - timedelta(hours=1), result=RESULT
        )
    first = await store.delete_finished(finished_before=now(), limit=3)
    second = await store.delete_finished(finished_before=now(), limit=3)
    assert len(first) == 3
    assert len(second) == 2
    assert {item.id for item in [*first, *second]} == {item.id for item in items}


def with_callback(created_at: datetime | None = None) -> Execution:
    url = "https://example.com/hook"
    spec = SPEC.model_copy(update={"callback_url": url})
    item = execution(created_at=created_at)
    return item.model_copy(update={"spec": spec, "webhook": WebhookDelivery(url=url)})


async def finish(store: ExecutionStore, item: Execution) -> None:
    at = now()
    assert await store.transition(item.id, ExecutionStatus.RUNNING, at=at)
    assert await store.transition(item.id, ExecutionStatus.COMPLETED, at=at, result=RESULT)


async def test_a_webhook_reads_back_as_stored_through_status_changes(
    store: ExecutionStore,
) -> None:
    [item] = await added(store, with_callback())
    assert await store.get(item.id) == item
    await finish(store, item)
    stored = await store.get(item.id)
    assert stored is not None
    assert stored.webhook == item.webhook
    assert stored.spec.callback_url == "https://example.com/hook"


async def test_webhook_updates_are_conditional_on_the_tries_made(store: ExecutionStore) -> None:
    item, _ = await added(store, with_callback(), execution())
    hook = item.webhook
    assert hook is not None
    claimed = hook.claimed(now(), timedelta(seconds=30))
    assert await store.update_webhook(item.id, claimed, if_attempts=0)
    assert not await store.update_webhook(item.id, claimed, if_attempts=0)  # taken: moved on
    policy = RetryPolicy(3, timedelta(seconds=1), timedelta(seconds=10))
    failed = claimed.failed("answered 500", now(), policy)
    assert await store.update_webhook(item.id, failed, if_attempts=1)
    stored = await store.get(item.id)
    assert stored is not None
    assert stored.webhook == failed
    assert not await store.update_webhook("ex_missing", claimed, if_attempts=0)


async def test_due_webhooks_are_pending_ones_of_finished_executions_whose_time_came(
    store: ExecutionStore,
) -> None:
    base = now() - timedelta(minutes=10)
    fresh, waiting, later, delivered, unfinished = await added(
        store, *(with_callback(base + timedelta(seconds=index)) for index in range(5))
    )
    plain = execution()
    await store.add(plain)
    for item in (fresh, waiting, later, delivered, plain):
        await finish(store, item)
    at = now()
    policy = RetryPolicy(5, timedelta(seconds=1), timedelta(seconds=60))
    lease = timedelta(seconds=1)
    pending = WebhookDelivery(url="https://example.com/hook")
    for item, changed in (
        (waiting, pending.claimed(at - timedelta(seconds=5), lease)),  # its lease has ended
        (later, pending.claimed(at, timedelta(seconds=60))),
        (delivered, pending.claimed(at, lease).succeeded(at)),
    ):
        assert await store.update_webhook(item.id, changed, if_attempts=0)
    due = await store.list_webhooks_due(at=at, limit=10)
    assert [item.id for item in due] == [fresh.id, waiting.id]
    assert [item.id for item in await store.list_webhooks_due(at=at, limit=1)] == [fresh.id]
    dead = waiting.webhook
    assert dead is not None
    dead = dead.claimed(at, timedelta(seconds=1)).model_copy(update={"attempts": 5})
    assert dead.failed("gone", at, policy).state is WebhookState.DEAD_LETTERED
    assert await store.update_webhook(waiting.id, dead.failed("gone", at, policy), if_attempts=1)
    later_on = at + timedelta(minutes=5)
    assert [item.id for item in await store.list_webhooks_due(at=later_on, limit=10)] == [
        fresh.id,
        later.id,
    ]
    assert unfinished.id not in {item.id for item in due}


async def test_marking_a_request_published_never_undoes_a_status_change(
    store: ExecutionStore,
) -> None:
    # Seen in CI: the API marks the request published while the result processor applies
    # `started`; FerretDB writes an update back as a whole document, so the flag's write put the
    # execution back to `queued` and its next change waited out a 30 s claim lease.
    items = await added(store, *(execution() for _ in range(30)))

    # Random delays of up to 10 ms interleave the two writers in every order across the items:
    # the race under test, made likely rather than waited for.
    async def start(item: Execution) -> None:
        await asyncio.sleep(random.random() / 100)
        await store.transition(item.id, ExecutionStatus.RUNNING, at=now())

    async def mark(item: Execution) -> None:
        await asyncio.sleep(random.random() / 100)
        await store.mark_published(item.id)

    await asyncio.gather(*(start(item) for item in items), *(mark(item) for item in items))

    for item in items:
        stored = await store.get(item.id)
        assert stored is not None
        assert stored.status is ExecutionStatus.RUNNING, item.id
    assert await store.list_unpublished(created_before=now() + timedelta(seconds=1), limit=50) == []
