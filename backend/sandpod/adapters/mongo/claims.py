"""Exactly-once changes to versioned documents on servers whose conditional updates are not atomic.

FerretDB v1 runs findAndModify (and update) as: read the matching documents, apply the filter in
Go, write each one back by _id with no condition. N concurrent "version is 4" updates of one
document can therefore all match and all win. What it does make atomic is an insert with a unique
_id. So each change first claims the version it moves the document to, by inserting
`<document id>@<version>`: exactly one writer gets it, and only that writer then writes the
document (a conditional single-document update, which alone suffices on MongoDB).

A writer that stops between its claim and its write (crash, outage) would block the document for
good, so a claim older than the lease may be finished by whoever finds it: the claim stores its
changes. That assumes no writer takes longer than the lease between claiming and writing.

Claims are only needed while a change is in flight: once a write lands, the claims of that version
and every older one may be deleted. A caller whose document will change again soon (an execution
that is only running yet) leaves them for its next change to delete (`settle=False`), which saves
a delete per change; so the collection holds about one claim per document between changes and
per change in flight, not two per change ever made. (FerretDB v1.24 refuses TTL indexes, "Index
option expireAfterSeconds is not implemented yet", so expiry cannot be left to the server.) A
writer whose claim was taken on a version that had already been written and cleaned up finds its
conditional write missing and simply reads again: each change carries a random stamp, so a
writer tells its own landed change (written by a taker-over) from someone else's.

FerretDB v1 on SQLite finds a document by its index only for a filter of `_id` alone: any other
filter reads and decodes the whole collection (most of its CPU per execution was that). There
the version is checked here, between a read and a write by `_id`, which is what FerretDB does
inside its conditional update anyway; the claim keeps anyone else from writing in between.
"""

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from sandpod.adapters.mongo.documents import Document, as_datetime
from sandpod.domain.execution import utcnow
from sandpod.ports import ServiceUnavailableError

# The change's stamp, written into the document with it.
STAMP = "change_stamp"

# The $set for the document as read, or None when there is nothing to write.
Decide = Callable[[Document], Document | None]


@dataclass(frozen=True)
class Change:
    document: Document  # after the change; as found (or as it will be) when nothing was written
    written: bool


@dataclass(frozen=True)
class Claim:
    id: str
    changes: Document  # the $set that makes the change
    claimed_at: datetime


class ClaimedChanges:
    """Changes to the documents of one collection, each claimed first in a claims collection."""

    def __init__(
        self,
        documents: AsyncCollection[Document],
        claims: AsyncCollection[Document],
        *,
        kind: str,
        lease: timedelta,
        max_attempts: int = 20,
        id_only_filters: bool = False,
    ) -> None:
        self._kind = kind  # what a document is, for messages: "execution", "user"
        self._documents = documents
        self._claims = claims
        self._lease = lease
        self._max_attempts = max_attempts
        self._id_only_filters = (
            id_only_filters  # see the module's docstring; ensure_indexes sets it
        )

    async def ensure_indexes(self) -> None:
        self._id_only_filters = await is_ferretdb(self._documents.database)
        await self._claims.create_index(
            [("document_id", ASCENDING), ("version", ASCENDING)], name="document_version"
        )
        # Claims written before they were cleaned up after each write (no document_id field).
        await self._claims.delete_many(
            {"document_id": {"$exists": False}, "claimed_at": {"$lt": utcnow() - self._lease}}
        )

    async def change(
        self, document_id: str, decide: Decide, *, settle: bool = True
    ) -> Change | None:
        """Apply the change `decide` asks for exactly once, whatever runs concurrently; None when
        there is no such document. `decide` may be called several times, each time with the
        document as it is then. With `settle` false the claims stay until a later change with
        `settle` deletes them (the document's last change must settle). Raises
        ServiceUnavailableError when another writer's change stays unfinished for all attempts."""
        delay = 0.01
        for _ in range(self._max_attempts):
            current = await self._documents.find_one({"_id": document_id})
            if current is None:
                return None
            changes = decide(current)
            if changes is None:
                return Change(current, written=False)
            version = int(current["version"]) + 1
            changes = {**changes, "version": version, STAMP: secrets.token_hex(8)}
            if await self._take(document_id, version, changes):
                written = await self._write(document_id, version, changes)
                if written is not None:
                    if settle:
                        await self._forget(document_id, up_to=version)
                    return Change(written, written=True)
                # The document had moved on past the version we read (its claim was already
                # cleaned up, so ours went through): drop our useless claim and read again.
                await self._claims.delete_one({"_id": _claim_id(document_id, version)})
                continue
            # Another writer moved (or is moving) the document on from `current`.
            pending = await self._get(document_id, version)
            if pending is not None and await self._take_over(document_id, version, pending):
                # Its writer is gone: write its change for it, then start over from there.
                await self._write_if_at(document_id, version - 1, pending.changes)
                await self._forget(document_id, up_to=version)
                continue
            if pending is not None:
                after = {**current, **pending.changes}
                if decide(after) is None:
                    return Change(after, written=False)  # its change leaves nothing for ours
            await asyncio.sleep(delay)  # its write is in flight: read again shortly
            delay = min(delay * 2, 0.25)
        raise ServiceUnavailableError(
            f"{self._kind} {document_id} has an unfinished change by another writer; "
            "try again later"
        )

    async def _write(self, document_id: str, version: int, changes: Document) -> Document | None:
        document = await self._write_if_at(document_id, version - 1, changes)
        if document is not None:
            return document
        # A taker-over may have written our change for us (our lease ran out).
        found = await self._documents.find_one({"_id": document_id})
        return found if found is not None and found.get(STAMP) == changes[STAMP] else None

    async def _write_if_at(
        self, document_id: str, version: int, changes: Document
    ) -> Document | None:
        """The document after `changes`, written only if it is at `version`; else None."""
        # Conditional on the version: atomic on MongoDB; on FerretDB the claim made it ours.
        query: Document = {"_id": document_id, "version": version}
        if self._id_only_filters:
            current = await self._documents.find_one({"_id": document_id})
            if current is None or current["version"] != version:
                return None
            query = {"_id": document_id}
        return await self._documents.find_one_and_update(
            query, {"$set": changes}, return_document=ReturnDocument.AFTER
        )

    async def _take(self, document_id: str, version: int, changes: Document) -> bool:
        """Claim the move to `version`; False when another writer already has it."""
        claim = {
            "_id": _claim_id(document_id, version),
            "document_id": document_id,
            "version": version,
            "changes": changes,
            "claimed_at": utcnow(),
        }
        return await insert_new(self._claims, claim)

    async def _get(self, document_id: str, version: int) -> Claim | None:
        document = await self._claims.find_one({"_id": _claim_id(document_id, version)})
        if document is None:
            return None  # landed and cleaned up since: the next read shows it
        return Claim(
            id=str(document["_id"]),
            changes=document["changes"],
            claimed_at=as_datetime(document["claimed_at"]),
        )

    async def _take_over(self, document_id: str, version: int, claim: Claim) -> bool:
        """Whether the caller should finish a claim whose writer seems gone (once per lease)."""
        age = utcnow() - claim.claimed_at
        if age < self._lease:
            return False
        # One taker per lease period; if that one dies too, the next period gets another.
        period = int(age / self._lease)
        marker = {
            "_id": f"{claim.id}/takeover-{period}",
            "document_id": document_id,
            "version": version,
            "claimed_at": utcnow(),
        }
        return await insert_new(self._claims, marker)

    async def _forget(self, document_id: str, *, up_to: int) -> None:
        await self._claims.delete_many({"document_id": document_id, "version": {"$lte": up_to}})


async def is_ferretdb(database: AsyncDatabase[Document]) -> bool:
    """Whether the server is FerretDB (its buildInfo says so; MongoDB's has no such field)."""
    info = await database.command("buildInfo")
    return "ferretdbVersion" in info


async def insert_new(collection: AsyncCollection[Document], document: Document) -> bool:
    """Insert `document`; False when a unique index (its _id, say) already holds its key."""
    try:
        await collection.insert_one(document)
    except DuplicateKeyError:
        return False
    return True


def _claim_id(document_id: str, version: int) -> str:
    return f"{document_id}@{version}"
