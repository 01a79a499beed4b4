"""Build the Mongo client and store from settings (the factory bootstrap calls)."""

from typing import Protocol

from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo.documents import Document
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
