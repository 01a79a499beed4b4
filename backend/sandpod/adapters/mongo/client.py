"""Build the Mongo client and store from settings (the factory bootstrap calls)."""

from typing import Protocol

from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo.documents import Document
from sandpod.adapters.mongo.output_files import OUTPUT_FILES_COLLECTION, MongoOutputFiles
from sandpod.adapters.mongo.store import MongoExecutionStore
from sandpod.config import MongoSettings


def mongo_client(
    url: str, *, server_selection_timeout_ms: int = 2000
) -> AsyncMongoClient[Document]:
    """A client that fails fast while the server is down and reconnects by itself afterwards."""
    return AsyncMongoClient(
        url,
        serverSelectionTimeoutMS=server_selection_timeout_ms,
        connectTimeoutMS=server_selection_timeout_ms,
        # Bounds a hung call; well under the claim lease (see claims.py).
        socketTimeoutMS=10_000,
        appname="sandpod",
    )


async def connect_mongo(
    settings: MongoSettings, *, claim_lease_seconds: float = 30.0
) -> MongoExecutionStore:
    """The store, with its indexes in place. Raises ServiceUnavailableError when unreachable."""
    return await with_indexes(
        MongoExecutionStore(
            mongo_client(settings.url.get_secret_value()),
            settings.database,
            claim_lease_seconds=claim_lease_seconds,
        )
    )


class _Indexed(Protocol):
    async def ensure_indexes(self) -> None: ...

    async def close(self) -> None: ...


async def with_indexes[S: _Indexed](store: S) -> S:
    """`store` once its indexes are in place; closed again when that fails."""
    try:
        await store.ensure_indexes()
    except BaseException:
        await store.close()
        raise
    return store


def output_files_store(
    settings: MongoSettings,
) -> tuple[MongoOutputFiles, AsyncMongoClient[Document]]:
    """The output file store alone, with its client (close it). No round trip until it is used:
    a role that only writes files now and then (the pod monitor) starts while MongoDB is down."""
    client = mongo_client(settings.url.get_secret_value())
    files = MongoOutputFiles(
        client, client.get_database(settings.database)[OUTPUT_FILES_COLLECTION]
    )
    return files, client
