"""Exactly-once status changes on servers whose conditional updates are not atomic.

FerretDB v1 runs findAndModify (and update) as: read the matching documents, apply the filter in
Go, write each one back by _id with no condition. N concurrent "status in (queued, running)"
updates of one execution can therefore all match and all win. What it does make atomic is an
insert with a unique _id. So each status change first claims the version it moves the execution
to, by inserting `<execution id>@<version>`: exactly one writer gets it, and only that writer then
writes the execution (a conditional single-document update, which alone suffices on MongoDB).

A writer that stops between its claim and its write (crash, outage) would block the execution for
good, so a claim older than the lease may be finished by whoever finds it: the claim stores its
changes. That assumes no writer takes longer than the lease between claiming and writing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from sandpod.adapters.mongo.documents import Document, as_datetime
from sandpod.domain.execution import utcnow
from sandpod.domain.status import ExecutionStatus

CLAIMS_COLLECTION = "execution_transitions"


@dataclass(frozen=True)
class Claim:
    id: str
    changes: Document  # the $set that makes the change
    claimed_at: datetime

    @property
    def status(self) -> ExecutionStatus:
        return ExecutionStatus(self.changes["status"])


class TransitionClaims:
    def __init__(self, collection: AsyncCollection[Document], *, lease: timedelta) -> None:
        self._collection = collection
        self._lease = lease

    async def take(self, execution_id: str, version: int, changes: Document) -> bool:
        """Claim the move to `version`; False when another writer already has it."""
        claim = {
            "_id": _claim_id(execution_id, version),
            "execution_id": execution_id,
            "changes": changes,
            "claimed_at": utcnow(),
        }
        return await insert_new(self._collection, claim)

    async def get(self, execution_id: str, version: int) -> Claim | None:
        document = await self._collection.find_one({"_id": _claim_id(execution_id, version)})
        if document is None:
            return None
        return Claim(
            id=str(document["_id"]),
            changes=document["changes"],
            claimed_at=as_datetime(document["claimed_at"]),
        )

    async def take_over(self, claim: Claim) -> bool:
        """Whether the caller should finish a claim whose writer seems gone (once per lease)."""
        age = utcnow() - claim.claimed_at
        if age < self._lease:
            return False
        # One taker per lease period; if that one dies too, the next period gets another.
        period = int(age / self._lease)
        return await insert_new(
            self._collection, {"_id": f"{claim.id}/takeover-{period}", "claimed_at": utcnow()}
        )


async def insert_new(collection: AsyncCollection[Document], document: Document) -> bool:
    """Insert `document`; False when a unique index (its _id, say) already holds its key."""
    try:
        await collection.insert_one(document)
    except DuplicateKeyError:
        return False
    return True


def _claim_id(execution_id: str, version: int) -> str:
    return f"{execution_id}@{version}"
