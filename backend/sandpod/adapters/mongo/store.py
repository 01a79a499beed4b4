"""ExecutionStore on MongoDB (or FerretDB). One document per execution, _id = execution id."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bson.codec_options import CodecOptions
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo.claims import CLAIMS_COLLECTION, TransitionClaims, insert_new
from sandpod.adapters.mongo.documents import (
    Document,
    from_document,
    status_changes,
    to_document,
)
from sandpod.adapters.mongo.errors import unavailable_when_down
from sandpod.domain.execution import Execution
from sandpod.domain.result import Result
from sandpod.domain.status import ExecutionStatus, allowed_sources
from sandpod.ports import DuplicateExecutionError, Page, ServiceUnavailableError

EXECUTIONS_COLLECTION = "executions"
_UNFINISHED = [ExecutionStatus.QUEUED.value, ExecutionStatus.RUNNING.value]


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
        self._claims = TransitionClaims(
            self._db[CLAIMS_COLLECTION], lease=timedelta(seconds=claim_lease_seconds)
        )
        self._max_attempts = max_attempts

    async def ensure_indexes(self) -> None:
        with unavailable_when_down(self._client):
            # A user's listing (owner, newest first) and the timeout sweep (status, age).
            await self._executions.create_index(
                [("owner", ASCENDING), ("_id", DESCENDING)], name="owner_newest"
            )
            await self._executions.create_index(
                [("status", ASCENDING), ("created_at", ASCENDING)], name="status_age"
            )

    async def add(self, execution: Execution) -> None:
        with unavailable_when_down(self._client):
            if not await insert_new(self._executions, to_document(execution)):
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
    ) -> Page:
        query: Document = {}
        if owner is not None:
            query["owner"] = owner
        if status is not None:
            query["status"] = status.value
        if after is not None:
            query["_id"] = {"$lt": after}  # ids are time-ordered: "after" means older
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
        delay = 0.01
        with unavailable_when_down(self._client):
            for _ in range(self._max_attempts):
                current = await self.get(execution_id)
                if current is None or current.status not in sources:
                    return None
                changes = status_changes(current.transitioned(target, at=at, result=result))
                if await self._claims.take(execution_id, current.version + 1, changes):
                    return await self._write(current, changes, sources)
                # Another writer moved (or is moving) this execution on from `current`.
                pending = await self._claims.get(execution_id, current.version + 1)
                if pending is not None and await self._claims.take_over(pending):
                    # Its writer is gone: write its change for it, then start over from there.
                    await self._executions.update_one(
                        {"_id": execution_id, "version": current.version},
                        {"$set": pending.changes},
                    )
                    continue
                if pending is not None and pending.status not in sources:
                    return None  # its change rules this one out (a second terminal status)
                await asyncio.sleep(delay)  # its write is in flight: read again shortly
                delay = min(delay * 2, 0.25)
        raise ServiceUnavailableError(
            f"execution {execution_id} has an unfinished status change by another writer; "
            "try again later"
        )

    async def list_unfinished(self, *, created_before: datetime, limit: int) -> Sequence[Execution]:
        query = {"status": {"$in": _UNFINISHED}, "created_at": {"$lt": created_before}}
        cursor = self._executions.find(query).sort("_id", ASCENDING).limit(limit)
        with unavailable_when_down(self._client):
            return [from_document(document) async for document in cursor]

    async def count(self, status: ExecutionStatus) -> int:
        with unavailable_when_down(self._client):
            return await self._executions.count_documents({"status": status.value})

    async def ping(self) -> None:
        with unavailable_when_down(self._client):
            await self._db.command("ping")

    async def close(self) -> None:
        await self._client.close()

    async def _write(
        self, current: Execution, changes: Document, sources: frozenset[ExecutionStatus]
    ) -> Execution | None:
        # Conditional on version and status: atomic on MongoDB; on FerretDB the claim made it ours.
        document = await self._executions.find_one_and_update(
            {
                "_id": current.id,
                "version": current.version,
                "status": {"$in": sorted(status.value for status in sources)},
            },
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            # Only a take-over after our lease ran out writes our version instead (same changes).
            document = await self._executions.find_one(
                {"_id": current.id, "version": changes["version"]}
            )
        return None if document is None else from_document(document)
