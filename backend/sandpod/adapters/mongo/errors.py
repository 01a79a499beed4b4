"""Turn "the database cannot be reached" into the port's ServiceUnavailableError."""

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.asynchronous.mongo_client import AsyncMongoClient
from pymongo.errors import ConnectionFailure, PyMongoError

from sandpod.adapters.mongo.documents import Document
from sandpod.ports import ServiceUnavailableError


@contextmanager
def unavailable_when_down(client: AsyncMongoClient[Document]) -> Iterator[None]:
    """Map connection failures and timeouts; other errors (bad query, duplicate key) pass."""
    try:
        yield
    except PyMongoError as error:
        # ConnectionFailure covers ServerSelectionTimeoutError, AutoReconnect and NetworkTimeout.
        if isinstance(error, ConnectionFailure) or error.timeout:
            raise ServiceUnavailableError(
                f"MongoDB at {_address(client)} is unavailable: {_reason(error)}"
            ) from error
        raise


def _address(client: AsyncMongoClient[Document]) -> str:
    # From the topology, not the URL: the URL may carry credentials.
    servers = client.topology_description.server_descriptions()
    return ", ".join(f"{host}:{port}" for host, port in servers) or "(no servers)"


def _reason(error: PyMongoError) -> str:
    # pymongo appends the whole topology description; the first clause is the useful part.
    return str(error).partition(" (configured timeouts")[0].partition(", Timeout:")[0][:300]
