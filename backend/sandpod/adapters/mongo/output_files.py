"""Output files in MongoDB: one document per file in `output_files`, the bytes as BSON binary.

The caps keep every file far below the 16 MiB document limit (Settings.output_files_max_bytes),
so GridFS's chunking is not needed, and FerretDB serves plain documents well.
"""

from collections.abc import Sequence

from bson.binary import Binary
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from sandpod.adapters.mongo.documents import Document
from sandpod.adapters.mongo.errors import unavailable_when_down
from sandpod.domain.files import StoredFile

OUTPUT_FILES_COLLECTION = "output_files"


class MongoOutputFiles:
    def __init__(
        self, client: AsyncMongoClient[Document], collection: AsyncCollection[Document]
    ) -> None:
        self._client = client
        self._files = collection

    async def ensure_indexes(self) -> None:
        with unavailable_when_down(self._client):
            await self._files.create_index([("execution_id", ASCENDING)], name="execution")

    async def put(self, execution_id: str, files: Sequence[StoredFile]) -> None:
        # A redelivered run replaces what an earlier attempt kept: one file, one document.
        with unavailable_when_down(self._client):
            await self._files.delete_many({"execution_id": execution_id})
            if files:
                await self._files.insert_many(
                    [
                        {
                            "_id": f"{execution_id}/{item.name}",
                            "execution_id": execution_id,
                            "name": item.name,
                            "content_type": item.content_type,
                            "data": Binary(item.data),
                        }
                        for item in files
                    ]
                )

    async def get(self, execution_id: str, name: str) -> StoredFile | None:
        with unavailable_when_down(self._client):
            found = await self._files.find_one({"_id": f"{execution_id}/{name}"})
        if found is None:
            return None
        return StoredFile(
            name=str(found["name"]),
            content_type=str(found["content_type"]),
            data=bytes(found["data"]),
        )
