"""ExecutionStore on MongoDB (or FerretDB). One document per execution, _id = execution id."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bson.codec_options import CodecOptions
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo.claims import ClaimedChanges, insert_new
from sandpod.adapters.mongo.documents import (
    Document,
    from_document,
    status_changes,
    to_document,
    webhook_document,
)
from sandpod.adapters.mongo.errors import unavailable_when_down
from sandpod.adapters.mongo.output_files import OUTPUT_FILES_COLLECTION, MongoOutputFiles
from sandpod.domain.execution import Execution
from sandpod.domain.result import Result
from sandpod.domain.status import TERMINAL_STATUSES, ExecutionStatus, allowed_sources
from sandpod.domain.webhooks import WebhookDelivery, WebhookState
from sandpod.ports import DuplicateExecutionError, Page

EXECUTIONS_COLLECTION = "executions"
CLAIMS_COLLECTION = "execution_transitions"
STARTS_COLLECTION = "execution_starts"  # one document per execution a runner has started
# The outbox: one marker per execution from its insert until its request is on the event bus.
# A collection of its own, not a flag on the execution: FerretDB writes an update back as a whole
# document, so a flag's update racing a status change would undo that change.
UNPUBLISHED_COLLECTION = "unpublished_requests"
_UNFINISHED = [ExecutionStatus.QUEUED.value, ExecutionStatus.RUNNING.value]
_FINISHED = sorted(status.value for status in TERMINAL_STATUSES)


class MongoExecutionStore:
    def __init__(
        self,
        client: AsyncMongoClient[Document],
        database: str,
        *,
        claim_lease_seconds: float = 30.0,
        max_attempts: int = 20,
    ) -> None:
        self._client = client
        # tz-aware UTC datetimes back, like the ones the domain makes.
        self._db = client.get_database(
            database, codec_options=CodecOptions(tz_aware=True, tzinfo=UTC)
        )
        self._executions = self._db[EXECUTIONS_COLLECTION]
        self._starts = self._db[STARTS_COLLECTION]
        self._unpublished = self._db[UNPUBLISHED_COLLECTION]
        self._changes = ClaimedChanges(
            self._executions,
            self._db[CLAIMS_COLLECTION],
            kind="execution",
            lease=timedelta(seconds=claim_lease_seconds),
            max_attempts=max_attempts,
        )
        self.output_files = MongoOutputFiles(client, self._db[OUTPUT_FILES_COLLECTION])

    async def ensure_indexes(self) -> None:
        with unavailable_when_down(self._client):
            # A user's listing (owner, newest first) and the timeout sweep (status, age).
            await self._executions.create_index(
                [("owner", ASCENDING), ("_id", DESCENDING)], name="owner_newest"
            )
            await self._executions.create_index(
                [("status", ASCENDING), ("created_at", ASCENDING)], name="status_age"
            )
            await self._changes.ensure_indexes()
            await self._unpublished.create_index([("created_at", ASCENDING)], name="age")
            # The retention sweep (finished long enough ago).
            await self._executions.create_index([("finished_at", ASCENDING)], name="finished")
            # The webhook worker's look for deliveries due.
            await self._executions.create_index(
                [("webhook.state", ASCENDING), ("webhook.next_attempt_at", ASCENDING)],
                name="webhooks_due",
            )
            await self.output_files.ensure_indexes()

    async def add(self, execution: Execution) -> None:
        marker = {"_id": execution.id, "created_at": execution.created_at}
        with unavailable_when_down(self._client):
            # The marker first, so that no stored execution lacks one until it is published.
            marked = await insert_new(self._unpublished, marker)
            if not await insert_new(self._executions, to_document(execution)):
                if marked:  # the stored one was published already: ours is no outbox entry
                    await self._unpublished.delete_one({"_id": execution.id})
                raise DuplicateExecutionError(execution.id)

    async def get(self, execution_id: str) -> Execution | None:
        with unavailable_when_down(self._client):
            document = await self._executions.find_one({"_id": execution_id})
        return None if document is None else from_document(document)

    async def list(
        self,
        *,
        owner: str | None,
        status: ExecutionStatus | None,
        after: str | None,
        limit: int,
        runtime: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Page:
        query: Document = {}
        if owner is not None:
            query["owner"] = owner
        if status is not None:
            query["status"] = status.value
        if after is not None:
            query["_id"] = {"$lt": after}  # ids are time-ordered: "after" means older
        if runtime is not None:
            query["spec.runtime"] = runtime
        created: Document = {}
        if created_after is not None:
            created["$gt"] = created_after
        if created_before is not None:
            created["$lt"] = created_before
        if created:
            query["created_at"] = created
        # One extra document tells whether there is a next page.
        cursor = self._executions.find(query).sort("_id", DESCENDING).limit(limit + 1)
        with unavailable_when_down(self._client):
            found = [from_document(document) async for document in cursor]
        return Page.of(found, limit)

    async def transition(
        self,
        execution_id: str,
        target: ExecutionStatus,
        *,
        at: datetime,
        result: Result | None = None,
        only_from: ExecutionStatus | None = None,
    ) -> Execution | None:
        sources = allowed_sources(target)
        if only_from is not None:
            sources &= {only_from}

        def decide(document: Document) -> Document | None:
            current = from_document(document)
            if current.status not in sources:
                return None
            return status_changes(current.transitioned(target, at=at, result=result))

        with unavailable_when_down(self._client):
            # A terminal change is the last: it deletes the claims of this one and the start.
            change = await self._changes.change(execution_id, decide, settle=target.is_terminal)
        return from_document(change.document) if change is not None and change.written else None

    async def delete(self, execution_id: str) -> bool:
        # Terminal statuses are final, so no status change can race this conditional delete.
        with unavailable_when_down(self._client):
            deleted = await self._executions.delete_one(
                {"_id": execution_id, "status": {"$in": _FINISHED}}
            )
            if deleted.deleted_count:
                await self._starts.delete_one({"_id": execution_id})
                await self._unpublished.delete_one({"_id": execution_id})
        return bool(deleted.deleted_count)

    async def delete_finished(
        self, *, finished_before: datetime, limit: int
    ) -> Sequence[Execution]:
        # A sweep, not a TTL index: FerretDB v1.24 refuses expireAfterSeconds (NotImplemented).
        query = {"status": {"$in": _FINISHED}, "finished_at": {"$lt": finished_before}}
        cursor = self._executions.find(query).sort("_id", ASCENDING).limit(limit)
        with unavailable_when_down(self._client):
            expired = [from_document(document) async for document in cursor]
            if expired:
                ids = [item.id for item in expired]
                await self._executions.delete_many({"_id": {"$in": ids}, **query})
                await self._starts.delete_many({"_id": {"$in": ids}})
                await self._unpublished.delete_many({"_id": {"$in": ids}})
        return expired

    async def list_unfinished(self, *, created_before: datetime, limit: int) -> Sequence[Execution]:
        query = {"status": {"$in": _UNFINISHED}, "created_at": {"$lt": created_before}}
        cursor = self._executions.find(query).sort("_id", ASCENDING).limit(limit)
        with unavailable_when_down(self._client):
            return [from_document(document) async for document in cursor]

    async def claim_start(self, execution_id: str) -> bool:
        # A unique insert: atomic on FerretDB too, where conditional updates are not.
        with unavailable_when_down(self._client):
            return await insert_new(self._starts, {"_id": execution_id, "at": datetime.now(UTC)})

    async def mark_run_ended(self, execution_id: str) -> None:
        # Only runners write a start document, once per run's end: no race to undo.
        with unavailable_when_down(self._client):
            await self._starts.update_one({"_id": execution_id}, {"$set": {"ended": True}})

    async def run_ended(self, execution_id: str) -> bool:
        with unavailable_when_down(self._client):
            # By _id alone: FerretDB v1 scans the whole collection for any other filter.
            start = await self._starts.find_one({"_id": execution_id})
        return start is not None and bool(start.get("ended"))

    async def mark_published(self, execution_id: str) -> None:
        with unavailable_when_down(self._client):
            await self._unpublished.delete_one({"_id": execution_id})

    async def list_unpublished(
        self, *, created_before: datetime, limit: int
    ) -> Sequence[Execution]:
        with unavailable_when_down(self._client):
            markers = self._unpublished.find({"created_at": {"$lt": created_before}})
            ids = [
                str(marker["_id"]) async for marker in markers.sort("_id", ASCENDING).limit(limit)
            ]
            found = self._executions.find({"_id": {"$in": ids}})
            executions = {document["_id"]: from_document(document) async for document in found}
            # A marker whose execution left `queued` (so its request arrived) or is gone is spent.
            spent = [
                execution_id
                for execution_id in ids
                if execution_id not in executions
                or executions[execution_id].status is not ExecutionStatus.QUEUED
            ]
            if spent:
                await self._unpublished.delete_many({"_id": {"$in": spent}})
        # Up to `limit` (fewer when some markers were spent; the next sweep reads on).
        return [executions[item] for item in ids if item not in spent]

    async def count(self, status: ExecutionStatus) -> int:
        with unavailable_when_down(self._client):
            return await self._executions.count_documents({"status": status.value})

    async def update_webhook(
        self, execution_id: str, webhook: WebhookDelivery, *, if_attempts: int
    ) -> bool:
        # Not claimed like status changes: on FerretDB v1 two workers may both win one try,
        # which sends it twice with one Sandpod-Delivery id, as at-least-once allows anyway.
        with unavailable_when_down(self._client):
            updated = await self._executions.update_one(
                {"_id": execution_id, "webhook.attempts": if_attempts},
                {"$set": {"webhook": webhook_document(webhook)}},
            )
        return bool(updated.modified_count)

    async def list_webhooks_due(self, *, at: datetime, limit: int) -> Sequence[Execution]:
        query = {
            "status": {"$in": _FINISHED},
            "webhook.state": WebhookState.PENDING.value,
            "$or": [{"webhook.next_attempt_at": None}, {"webhook.next_attempt_at": {"$lte": at}}],
        }
        cursor = self._executions.find(query).sort("_id", ASCENDING).limit(limit)
        with unavailable_when_down(self._client):
            return [from_document(document) async for document in cursor]

    async def ping(self) -> None:
        with unavailable_when_down(self._client):
            await self._db.command("ping")

    async def close(self) -> None:
        await self._client.close()
