"""The Mongo stores on FerretDB v1, whose SQLite backend finds documents by index only for a filter
of `_id` alone: for anything else it reads and decodes the whole collection. Nothing an execution
does, and no sweep, may filter the executions on anything else."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pymongo
import pytest
from pymongo import monitoring
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo import MongoExecutionStore
from sandpod.adapters.mongo.claims import is_ferretdb
from sandpod.adapters.mongo.documents import Document, to_document
from sandpod.adapters.mongo.store import CLAIMS_COLLECTION, OPEN_COLLECTION, WEBHOOKS_COLLECTION
from sandpod.domain.execution import Execution, ExecutionSpec, utcnow
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason, Result
from sandpod.domain.status import ExecutionStatus
from sandpod.domain.webhooks import WebhookDelivery

Database = pymongo.database.Database[dict[str, object]]


@pytest.fixture(autouse=True)
def emptied(mongo_database: Database) -> Iterator[None]:
    # The database lives for the session: each test here starts from no collections.
    yield
    for collection in mongo_database.list_collection_names():
        mongo_database.drop_collection(collection)


class FilterLog(monitoring.CommandListener):
    """The filters of the commands sent: (command, collection, filter)."""

    def __init__(self) -> None:
        self.filters: list[tuple[str, str, Document]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command, name = event.command, event.command_name
        collection = str(command.get(name, ""))
        if name == "find":
            self.filters.append((name, collection, command.get("filter", {})))
        elif name == "findAndModify":
            self.filters.append((name, collection, command.get("query", {})))
        elif name in ("update", "delete"):
            key = "updates" if name == "update" else "deletes"
            self.filters += [(name, collection, item["q"]) for item in command[key]]

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def not_by_id_alone(self, *, besides: frozenset[str]) -> list[tuple[str, str, Document]]:
        return [
            entry for entry in self.filters if entry[1] not in besides and set(entry[2]) != {"_id"}
        ]


def execution(created_at: datetime | None = None) -> Execution:
    spec = ExecutionSpec(runtime="python:3.12", script="print(1)", limits=DEFAULT_POLICY.defaults)
    item = Execution(owner="alice", spec=spec)
    return item if created_at is None else item.model_copy(update={"created_at": created_at})


async def store_with(log: FilterLog, mongo_url: str, database: str) -> MongoExecutionStore:
    store = MongoExecutionStore(AsyncMongoClient(mongo_url, event_listeners=[log]), database)
    await store.ensure_indexes()
    assert await is_ferretdb(store._db), "these tests run on FerretDB (make services-up)"
    return store


async def test_an_execution_s_life_finds_its_documents_by_id_alone(
    mongo_url: str, mongo_database: Database
) -> None:
    # A status change filtered on `_id` and `version` cost a scan of every execution stored.
    log = FilterLog()
    store = await store_with(log, mongo_url, mongo_database.name)
    item = execution()
    try:
        await store.add(item)
        await store.mark_published(item.id)
        assert await store.claim_start(item.id)
        await store.transition(item.id, ExecutionStatus.RUNNING, at=utcnow())
        assert not await store.run_ended(item.id)
        ended = await store.transition(
            item.id,
            ExecutionStatus.COMPLETED,
            at=utcnow(),
            result=Result(end_reason=EndReason.COMPLETED),
        )
        await store.mark_run_ended(item.id)
        assert await store.run_ended(item.id)
        assert ended is not None
        assert ended.version == 2
        assert await store.get(item.id) == ended
    finally:
        await store.close()
    assert log.filters
    assert log.not_by_id_alone(besides=frozenset({CLAIMS_COLLECTION})) == []


async def test_the_timeout_sweep_reads_executions_by_id_alone(
    mongo_url: str, mongo_database: Database
) -> None:
    # The sweep's status filter decoded every stored execution each time: 3.8 s at 10,000.
    log = FilterLog()
    store = await store_with(log, mongo_url, mongo_database.name)
    old = utcnow() - timedelta(hours=2)
    queued, running, ended = execution(created_at=old), execution(created_at=old), execution()
    try:
        for item in (queued, running, ended):
            await store.add(item)
        await store.transition(running.id, ExecutionStatus.RUNNING, at=utcnow())
        await store.transition(
            ended.id, ExecutionStatus.ERRORED, at=utcnow(), result=Result.platform_error("x")
        )
        cutoff = utcnow() - timedelta(hours=1)
        log.filters.clear()
        unfinished = await store.list_unfinished(created_before=cutoff, limit=10)
        unpublished = await store.list_unpublished(created_before=cutoff, limit=10)
    finally:
        await store.close()
    assert [item.id for item in unfinished] == sorted([queued.id, running.id])
    assert [item.id for item in unpublished] == [queued.id]
    assert log.filters
    assert log.not_by_id_alone(besides=frozenset({OPEN_COLLECTION})) == []


async def test_unfinished_executions_of_a_store_before_the_markers_get_theirs(
    mongo_url: str, mongo_database: Database
) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = client[mongo_database.name]
    old = utcnow() - timedelta(hours=2)
    published, unpublished = execution(created_at=old), execution(created_at=old)
    running = execution(created_at=old).transitioned(ExecutionStatus.RUNNING, at=utcnow())
    done = (
        execution(created_at=old)
        .transitioned(ExecutionStatus.RUNNING, at=utcnow())
        .transitioned(
            ExecutionStatus.COMPLETED, at=utcnow(), result=Result(end_reason=EndReason.COMPLETED)
        )
    )
    try:
        # As the store before left them: an outbox marker only until the publish.
        await db["executions"].insert_many(
            [to_document(item) for item in (published, unpublished, running, done)]
        )
        await db["unpublished_requests"].insert_one({"_id": unpublished.id, "created_at": old})
        store = MongoExecutionStore(AsyncMongoClient(mongo_url), mongo_database.name)
        await store.ensure_indexes()
        cutoff = utcnow() - timedelta(hours=1)
        try:
            unfinished = await store.list_unfinished(created_before=cutoff, limit=10)
            to_publish = await store.list_unpublished(created_before=cutoff, limit=10)
        finally:
            await store.close()
        assert [item.id for item in unfinished] == sorted(
            [published.id, unpublished.id, running.id]
        )
        assert [item.id for item in to_publish] == [unpublished.id]
        assert "unpublished_requests" not in await db.list_collection_names()
    finally:
        await client.close()


async def test_the_look_for_due_webhooks_reads_executions_by_id_alone(
    mongo_url: str, mongo_database: Database
) -> None:
    # It filtered the executions on the webhook's state and time: a scan every 5 s.
    log = FilterLog()
    store = await store_with(log, mongo_url, mongo_database.name)
    url = "https://example.com/hook"
    hooked = [
        item.model_copy(
            update={
                "spec": item.spec.model_copy(update={"callback_url": url}),
                "webhook": WebhookDelivery(url=url),
            }
        )
        for item in (execution(), execution(), execution())
    ]
    ended, delivered, running = hooked
    try:
        for item in hooked:
            await store.add(item)
        for item in (ended, delivered):
            await store.transition(item.id, ExecutionStatus.RUNNING, at=utcnow())
            await store.transition(
                item.id,
                ExecutionStatus.COMPLETED,
                at=utcnow(),
                result=Result(end_reason=EndReason.COMPLETED),
            )
        await store.transition(running.id, ExecutionStatus.RUNNING, at=utcnow())
        at = utcnow()
        done = WebhookDelivery(url=url).claimed(at, timedelta(seconds=30)).succeeded(at)
        assert await store.update_webhook(delivered.id, done, if_attempts=0)
        log.filters.clear()
        due = await store.list_webhooks_due(at=utcnow(), limit=10)
    finally:
        await store.close()
    assert [item.id for item in due] == [ended.id]
    assert log.filters
    assert log.not_by_id_alone(besides=frozenset({WEBHOOKS_COLLECTION})) == []
