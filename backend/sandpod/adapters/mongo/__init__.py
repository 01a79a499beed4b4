"""MongoDB adapter (pymongo's AsyncMongoClient): the execution store of distributed mode.

Also runs on FerretDB v1, whose conditional updates are not atomic; see claims.py for how status
changes stay exactly-once there.
"""

from sandpod.adapters.mongo.client import connect_mongo, mongo_client, output_files_store
from sandpod.adapters.mongo.shared import MongoStores, connect_stores
from sandpod.adapters.mongo.store import MongoExecutionStore
from sandpod.ports import DuplicateExecutionError

__all__ = [
    "DuplicateExecutionError",
    "MongoExecutionStore",
    "MongoStores",
    "connect_mongo",
    "connect_stores",
    "mongo_client",
    "output_files_store",
]
