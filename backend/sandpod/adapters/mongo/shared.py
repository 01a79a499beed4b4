"""The execution, user and script stores of an API process over one MongoDB client (one pool)."""

from dataclasses import dataclass

from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo.client import mongo_client
from sandpod.adapters.mongo.documents import Document
from sandpod.adapters.mongo.scripts import MongoScriptStore
from sandpod.adapters.mongo.store import MongoExecutionStore
from sandpod.adapters.mongo.users import MongoUserStore
from sandpod.config import MongoSettings


@dataclass(frozen=True)
class MongoStores:
    client: AsyncMongoClient[Document]
    executions: MongoExecutionStore
    users: MongoUserStore
    scripts: MongoScriptStore

    async def ping(self) -> None:
        """One check for every store: they share the server and the connection pool."""
        await self.executions.ping()

    async def close(self) -> None:
        await self.client.close()


async def connect_stores(settings: MongoSettings) -> MongoStores:
    """The stores with their indexes in place. Raises ServiceUnavailableError when unreachable."""
    client = mongo_client(settings.url.get_secret_value())
    stores = MongoStores(
        client=client,
        executions=MongoExecutionStore(client, settings.database),
        users=MongoUserStore(client, settings.database),
        scripts=MongoScriptStore(client, settings.database),
    )
    try:
        await stores.executions.ensure_indexes()
        await stores.users.ensure_indexes()
        await stores.scripts.ensure_indexes()
    except BaseException:
        await stores.close()
        raise
    return stores
