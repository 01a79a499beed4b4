"""ScriptStore on MongoDB (or FerretDB). One document per script, _id = script id.

A change replaces the whole document by _id: a single-document write, atomic on FerretDB too.
Two concurrent edits of one script are last-write-wins, as in any editor without merging.
"""

from datetime import UTC

from bson.codec_options import CodecOptions
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo.claims import insert_new
from sandpod.adapters.mongo.client import mongo_client, with_indexes
from sandpod.adapters.mongo.documents import Document
from sandpod.adapters.mongo.errors import unavailable_when_down
from sandpod.config import MongoSettings
from sandpod.domain.scripts import Script
from sandpod.ports import ScriptPage

SCRIPTS_COLLECTION = "scripts"


def _to_document(script: Script) -> Document:
    document: Document = script.model_dump(mode="python", exclude={"id"})
    document["_id"] = script.id
    return document


def _from_document(document: Document) -> Script:
    fields = {key: value for key, value in document.items() if key != "_id"}
    return Script.model_validate({**fields, "id": document["_id"]})


class MongoScriptStore:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._client = client
        # tz-aware UTC datetimes back, like the ones the domain makes.
        self._db = client.get_database(
            database, codec_options=CodecOptions(tz_aware=True, tzinfo=UTC)
        )
        self._scripts = self._db[SCRIPTS_COLLECTION]

    async def ensure_indexes(self) -> None:
        with unavailable_when_down(self._client):
            await self._scripts.create_index(
                [("owner", ASCENDING), ("_id", DESCENDING)], name="owner_newest"
            )

    async def add(self, script: Script) -> None:
        with unavailable_when_down(self._client):
            if not await insert_new(self._scripts, _to_document(script)):
                raise KeyError(f"a script with id {script.id!r} exists")

    async def get(self, script_id: str) -> Script | None:
        with unavailable_when_down(self._client):
            document = await self._scripts.find_one({"_id": script_id})
        return None if document is None else _from_document(document)

    async def list(self, *, owner: str | None, after: str | None, limit: int) -> ScriptPage:
        query: Document = {}
        if owner is not None:
            query["owner"] = owner
        if after is not None:
            query["_id"] = {"$lt": after}  # ids are time-ordered: "after" means older
        # One extra document tells whether there is a next page.
        cursor = self._scripts.find(query).sort("_id", DESCENDING).limit(limit + 1)
        with unavailable_when_down(self._client):
            found = [_from_document(document) async for document in cursor]
        return ScriptPage.of(found, limit)

    async def replace(self, script: Script) -> bool:
        with unavailable_when_down(self._client):
            outcome = await self._scripts.replace_one({"_id": script.id}, _to_document(script))
        return outcome.matched_count == 1

    async def delete(self, script_id: str) -> bool:
        with unavailable_when_down(self._client):
            outcome = await self._scripts.delete_one({"_id": script_id})
        return outcome.deleted_count == 1

    async def ping(self) -> None:
        with unavailable_when_down(self._client):
            await self._db.command("ping")

    async def close(self) -> None:
        await self._client.close()


async def connect_scripts(settings: MongoSettings) -> MongoScriptStore:
    """The script store with its indexes in place. Raises ServiceUnavailableError when down."""
    return await with_indexes(
        MongoScriptStore(mongo_client(settings.url.get_secret_value()), settings.database)
    )
