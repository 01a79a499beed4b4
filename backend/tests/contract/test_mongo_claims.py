"""claims.py on FerretDB: every change lands exactly once, a dead writer's change is finished by
the next writer, and the claims do not outlive the changes they guard."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import pymongo
import pytest
from bson.codec_options import CodecOptions
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo import MongoExecutionStore
from sandpod.adapters.mongo.claims import ClaimedChanges
from sandpod.adapters.mongo.documents import Document
from sandpod.adapters.mongo.store import CLAIMS_COLLECTION
from sandpod.adapters.mongo.users import CLAIMS_COLLECTION as USER_CLAIMS_COLLECTION
from sandpod.adapters.mongo.users import connect_users
from sandpod.domain.execution import Execution, ExecutionSpec, utcnow
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason, Result
from sandpod.domain.status import ExecutionStatus
from sandpod.domain.users import LockoutPolicy, User
from tests import isolation

Database = pymongo.database.Database[dict[str, object]]


@pytest.fixture
async def db(mongo_url: str, mongo_database: Database) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url)
    try:
        # tz-aware UTC datetimes back, as the stores read them.
        yield client.get_database(
            mongo_database.name, codec_options=CodecOptions(tz_aware=True, tzinfo=UTC)
        )
    finally:
        await client.close()
        for collection in mongo_database.list_collection_names():
            mongo_database.drop_collection(collection)


# Both ways to write a claimed change: the server checks the version (MongoDB), or the writer
# does between a read and a write by _id (what ensure_indexes picks on FerretDB).
@pytest.fixture(params=[False, True], ids=["server-checks", "id-only-filters"])
def id_only_filters(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def counter(
    db: AsyncDatabase[Document], id_only_filters: bool, *, lease: float = 30.0
) -> ClaimedChanges:
    return ClaimedChanges(
        db["counters"],
        db["counter_claims"],
        kind="counter",
        lease=timedelta(seconds=lease),
        id_only_filters=id_only_filters,
    )


def add_one(document: Document) -> Document:
    return {"count": document["count"] + 1}


async def test_concurrent_changes_each_land_exactly_once(
    db: AsyncDatabase[Document], id_only_filters: bool
) -> None:
    changes = counter(db, id_only_filters)
    await db["counters"].insert_one({"_id": "c", "count": 0, "version": 0})

    results = await asyncio.gather(*(changes.change("c", add_one) for _ in range(12)))

    assert all(result is not None and result.written for result in results)
    document = await db["counters"].find_one({"_id": "c"})
    assert document is not None
    assert (document["count"], document["version"]) == (12, 12)
    assert await db["counter_claims"].count_documents({}) == 0


async def test_a_change_of_a_missing_document_or_with_nothing_to_do_writes_nothing(
    db: AsyncDatabase[Document],
    id_only_filters: bool,
) -> None:
    changes = counter(db, id_only_filters)
    await db["counters"].insert_one({"_id": "c", "count": 0, "version": 0})

    assert await changes.change("missing", add_one) is None
    unchanged = await changes.change("c", lambda document: None)
    assert unchanged is not None
    assert not unchanged.written
    assert unchanged.document["version"] == 0


async def test_a_claim_whose_writer_died_is_finished_by_the_next_writer(
    db: AsyncDatabase[Document],
    id_only_filters: bool,
) -> None:
    changes = counter(db, id_only_filters, lease=0.05)
    await db["counters"].insert_one({"_id": "c", "count": 0, "version": 0})
    # A writer claimed version 1 (count 10) and died before writing it.
    await db["counter_claims"].insert_one(
        {
            "_id": "c@1",
            "document_id": "c",
            "version": 1,
            "changes": {"count": 10, "version": 1, "change_stamp": "dead"},
            "claimed_at": utcnow() - timedelta(seconds=1),
        }
    )

    result = await changes.change("c", add_one)

    assert result is not None
    assert result.written
    assert (result.document["count"], result.document["version"]) == (11, 2)
    assert await db["counter_claims"].count_documents({}) == 0


def execution() -> Execution:
    spec = ExecutionSpec(runtime="python:3.12", script="print(1)", limits=DEFAULT_POLICY.defaults)
    return Execution(owner="alice", spec=spec)


async def test_claims_do_not_outlive_the_status_changes_they_guard(
    mongo_url: str, mongo_database: Database, db: AsyncDatabase[Document]
) -> None:
    store = MongoExecutionStore(AsyncMongoClient(mongo_url), mongo_database.name)
    await store.ensure_indexes()
    items = [execution() for _ in range(10)]
    try:
        for item in items:
            await store.add(item)
            await store.transition(item.id, ExecutionStatus.RUNNING, at=utcnow())
            # Two terminal writers race, as a late runner and the timeout sweep may.
            await asyncio.gather(
                store.transition(
                    item.id,
                    ExecutionStatus.COMPLETED,
                    at=utcnow(),
                    result=Result(end_reason=EndReason.COMPLETED),
                ),
                store.transition(
                    item.id, ExecutionStatus.ERRORED, at=utcnow(), result=Result.platform_error("x")
                ),
            )
        assert await db[CLAIMS_COLLECTION].count_documents({}) == 0
    finally:
        await store.close()


async def test_user_change_claims_do_not_pile_up(
    mongo_url: str, mongo_database: Database, db: AsyncDatabase[Document]
) -> None:
    settings = isolation.isolated_settings(
        mongo={"url": mongo_url, "database": mongo_database.name}
    )
    users = await connect_users(settings.mongo)
    policy = LockoutPolicy(max_failures=100, window=timedelta(minutes=1), lock=timedelta(minutes=1))
    user = User(username="ada", password_hash="$argon2id$fake", created_at=utcnow())
    try:
        await users.add(user)
        for _ in range(5):
            await users.record_failure(user.id, at=utcnow(), policy=policy)
        await users.end_sessions(user.id)
        assert await db[USER_CLAIMS_COLLECTION].count_documents({}) == 0
    finally:
        await users.close()


async def test_an_unsettled_change_leaves_its_claim_to_the_next_settling_change(
    db: AsyncDatabase[Document],
    id_only_filters: bool,
) -> None:
    changes = counter(db, id_only_filters)
    await db["counters"].insert_one({"_id": "c", "count": 0, "version": 0})

    first = await changes.change("c", add_one, settle=False)
    assert first is not None
    assert first.written
    assert await db["counter_claims"].count_documents({}) == 1
    second = await changes.change("c", add_one)

    assert second is not None
    assert (second.document["count"], second.document["version"]) == (2, 2)
    assert await db["counter_claims"].count_documents({}) == 0


async def test_a_started_execution_keeps_one_claim_until_it_ends(
    mongo_url: str, mongo_database: Database, db: AsyncDatabase[Document]
) -> None:
    store = MongoExecutionStore(AsyncMongoClient(mongo_url), mongo_database.name)
    await store.ensure_indexes()
    item = execution()
    try:
        await store.add(item)
        await store.transition(item.id, ExecutionStatus.RUNNING, at=utcnow())
        # The start's claim is left for the end to delete: one delete per execution, not two.
        assert await db[CLAIMS_COLLECTION].count_documents({"document_id": item.id}) == 1
        ended = await store.transition(
            item.id,
            ExecutionStatus.COMPLETED,
            at=utcnow(),
            result=Result(end_reason=EndReason.COMPLETED),
        )
        assert ended is not None
        assert ended.version == 2
        assert await db[CLAIMS_COLLECTION].count_documents({"document_id": item.id}) == 0
    finally:
        await store.close()
