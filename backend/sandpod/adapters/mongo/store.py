"""ExecutionStore on MongoDB (or FerretDB). One document per execution, _id = execution id."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bson.codec_options import CodecOptions
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo.claims import ClaimedChanges, insert_new, is_ferretdb
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
# One marker per execution from its insert until it ends: the outbox (`published` turns true once
# its request is on the event bus) and what the timeout sweep reads. The sweeps read these few
# markers and each execution by _id, never the whole executions collection: FerretDB v1 decodes
# every document for any filter but _id alone (3.8 s per sweep at 10,000 executions). A
# collection of its own, not fields of the execution: FerretDB writes an update back as a whole
# document, so a flag's update racing a status change would undo that change.
OPEN_COLLECTION = "open_executions"
# One marker per execution whose webhook is pending (ended or not, its next try's time), from
# its insert: what the webhook worker's look for due deliveries reads, for the same reason.
WEBHOOKS_COLLECTION = "pending_webhooks"
# Before the markers lasted until the end, the outbox held them until the publish only.
_OUTBOX_V1_COLLECTION = "unpublished_requests"
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
        self._open = self._db[OPEN_COLLECTION]
        self._webhooks = self._db[WEBHOOKS_COLLECTION]
        self._id_only_filters = False  # FerretDB (see claims.py); ensure_indexes sets it
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
            self._id_only_filters = await is_ferretdb(self._db)
            await self._open.create_index([("created_at", ASCENDING)], name="age")
            await self._webhooks.create_index([("next_attempt_at", ASCENDING)], name="due")
            await self._migrate_outbox_v1()
            # The retention sweep (finished long enough ago).
            await self._executions.create_index([("finished_at", ASCENDING)], name="finished")
            # The webhook worker's look for deliveries due.
            await self._executions.create_index(
                [("webhook.state", ASCENDING), ("webhook.next_attempt_at", ASCENDING)],
                name="webhooks_due",
            )
            await self.output_files.ensure_indexes()

    async def _migrate_outbox_v1(self) -> None:
        """Markers for the unfinished executions a store without them left (once: one scan)."""
        if _OUTBOX_V1_COLLECTION not in await self._db.list_collection_names():
            return
        old = self._db[_OUTBOX_V1_COLLECTION]
        unpublished = {str(marker["_id"]) async for marker in old.find({})}
        async for document in self._executions.find({"status": {"$in": _UNFINISHED}}):
            await insert_new(
                self._open,
                _marker(
                    document["_id"], document["created_at"], document["_id"] not in unpublished
                ),
            )
        pending = {"webhook.state": WebhookState.PENDING.value}
        async for document in self._executions.find(pending):
            await self._track_webhook(from_document(document))
        await old.drop()

    async def add(self, execution: Execution) -> None:
        marker = _marker(execution.id, execution.created_at, published=False)
        with unavailable_when_down(self._client):
            # The marker first, so that no stored execution lacks one until it ends.
            marked = await insert_new(self._open, marker)
            if not await insert_new(self._executions, to_document(execution)):
                if marked:  # the stored one has its marker, or has ended: ours is none
                    await self._open.delete_one({"_id": execution.id})
                raise DuplicateExecutionError(execution.id)
            # After the execution: a marker without one would only be dropped by the next look.
            await self._track_webhook(execution)

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
            if change is None or not change.written:
                return None
            updated = from_document(change.document)
            if target.is_terminal:
                await self._ended(updated)
        return updated

    async def delete(self, execution_id: str) -> bool:
        # Terminal statuses are final, so no status change can race this conditional delete.
        with unavailable_when_down(self._client):
            deleted = await self._executions.delete_one(
                {"_id": execution_id, "status": {"$in": _FINISHED}}
            )
            if deleted.deleted_count:
                await self._starts.delete_one({"_id": execution_id})
                await self._open.delete_one({"_id": execution_id})
                await self._webhooks.delete_one({"_id": execution_id})
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
                await self._open.delete_many({"_id": {"$in": ids}})
                await self._webhooks.delete_many({"_id": {"$in": ids}})
        return expired

    async def list_unfinished(self, *, created_before: datetime, limit: int) -> Sequence[Execution]:
        return await self._open_ones({"created_at": {"$lt": created_before}}, limit=limit)

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
            # A marker deleted meanwhile (its execution ended) stays deleted: no upsert.
            await self._open.update_one({"_id": execution_id}, {"$set": {"published": True}})

    async def list_unpublished(
        self, *, created_before: datetime, limit: int
    ) -> Sequence[Execution]:
        query = {"published": False, "created_at": {"$lt": created_before}}
        open_ones = await self._open_ones(query, limit=limit)
        queued = [item for item in open_ones if item.status is ExecutionStatus.QUEUED]
        with unavailable_when_down(self._client):
            # One that left `queued` had its request arrive: its outbox entry is spent.
            for item in open_ones:
                if item.status is not ExecutionStatus.QUEUED:
                    await self.mark_published(item.id)
        # Up to `limit` (fewer when some were spent; the next sweep reads on).
        return queued

    async def _open_ones(self, query: Document, *, limit: int) -> Sequence[Execution]:
        """The unfinished executions whose markers match `query`, oldest id first, read by _id;
        the markers of ended or missing ones (their writer stopped before deleting them) go."""
        with unavailable_when_down(self._client):
            markers = self._open.find(query, projection=["_id"]).sort("_id", ASCENDING)
            ids = [str(marker["_id"]) async for marker in markers.limit(limit)]
            found: list[Execution] = []
            for execution_id in ids:
                document = await self._executions.find_one({"_id": execution_id})
                execution = None if document is None else from_document(document)
                if execution is None:
                    await self._open.delete_one({"_id": execution_id})
                elif execution.status.is_terminal:
                    await self._ended(execution)
                else:
                    found.append(execution)
        return found

    async def count(self, status: ExecutionStatus) -> int:
        with unavailable_when_down(self._client):
            return await self._executions.count_documents({"status": status.value})

    async def update_webhook(
        self, execution_id: str, webhook: WebhookDelivery, *, if_attempts: int
    ) -> bool:
        # Not claimed like status changes: on FerretDB v1 two workers may both win one try,
        # which sends it twice with one Sandpod-Delivery id, as at-least-once allows anyway.
        with unavailable_when_down(self._client):
            query: Document = {"_id": execution_id, "webhook.attempts": if_attempts}
            if self._id_only_filters:  # FerretDB checks the condition the same way, in Go
                document = await self._executions.find_one({"_id": execution_id})
                hook = document.get("webhook") if document is not None else None
                if hook is None or hook.get("attempts") != if_attempts:
                    return False
                query = {"_id": execution_id}
            updated = await self._executions.update_one(
                query, {"$set": {"webhook": webhook_document(webhook)}}
            )
            if updated.modified_count:
                # Only an ended execution's webhook is tried.
                await self._track_webhook_of(execution_id, webhook, ended=True)
        return bool(updated.modified_count)

    async def list_webhooks_due(self, *, at: datetime, limit: int) -> Sequence[Execution]:
        due = {
            "ended": True,
            "$or": [{"next_attempt_at": None}, {"next_attempt_at": {"$lte": at}}],
        }
        with unavailable_when_down(self._client):
            markers = self._webhooks.find(due, projection=["_id"]).sort("_id", ASCENDING)
            ids = [str(marker["_id"]) async for marker in markers.limit(limit)]
            found: list[Execution] = []
            for execution_id in ids:
                document = await self._executions.find_one({"_id": execution_id})
                execution = None if document is None else from_document(document)
                hook = None if execution is None else execution.webhook
                if execution is None or hook is None or hook.state is not WebhookState.PENDING:
                    await self._webhooks.delete_one({"_id": execution_id})
                elif execution.status.is_terminal and hook.is_due(at):
                    found.append(execution)
        return found

    async def _ended(self, execution: Execution) -> None:
        """Its webhook marker says it ended, then its open marker goes: in this order, so a
        writer stopped in between leaves the open marker, and the next sweep does both."""
        await self._track_webhook(execution)
        await self._open.delete_one({"_id": execution.id})

    async def _track_webhook(self, execution: Execution) -> None:
        if execution.webhook is not None:
            ended = execution.status.is_terminal
            await self._track_webhook_of(execution.id, execution.webhook, ended=ended)

    async def _track_webhook_of(
        self, execution_id: str, webhook: WebhookDelivery, *, ended: bool
    ) -> None:
        if webhook.state is WebhookState.PENDING:
            await self._webhooks.update_one(
                {"_id": execution_id},
                {"$set": {"next_attempt_at": webhook.next_attempt_at, "ended": ended}},
                upsert=True,
            )
        else:
            await self._webhooks.delete_one({"_id": execution_id})

    async def ping(self) -> None:
        with unavailable_when_down(self._client):
            await self._db.command("ping")

    async def close(self) -> None:
        await self._client.close()


def _marker(execution_id: str, created_at: datetime, published: bool) -> Document:
    return {"_id": execution_id, "created_at": created_at, "published": published}
