"""Schema Registry access through confluent-kafka's async client, with errors sorted by cause."""

import logging
from typing import Protocol

from confluent_kafka.schema_registry import AsyncSchemaRegistryClient, Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from sandpod.ports import ServiceUnavailableError

log = logging.getLogger(__name__)

COMPATIBILITY = "BACKWARD"
_RETRIABLE = {408, 429}  # client-side statuses that still mean "try again later"


class RegistryUnavailableError(ServiceUnavailableError):
    """The registry cannot be reached or answered with a server error: worth retrying."""


class UnknownSchemaError(LookupError):
    """The registry has no schema with this id: the message can never be decoded."""


class IncompatibleSchemaError(RuntimeError):
    """The registry refused a schema under the subject's compatibility rule."""


class SchemaRegistry(Protocol):
    async def register(self, subject: str, schema: str) -> int:
        """Register an Avro schema (JSON text) under `subject` with BACKWARD compatibility."""
        ...

    async def schema(self, schema_id: int) -> str:
        """The Avro schema (JSON text) with this id; UnknownSchemaError when there is none."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class ConfluentSchemaRegistry:
    def __init__(self, url: str, *, timeout_seconds: float = 5.0, max_retries: int = 1) -> None:
        self._url = url
        # new_client picks the in-process mock for mock:// URLs (tests sharing one process).
        self._client = AsyncSchemaRegistryClient.new_client(
            {
                "url": url,
                "timeout": timeout_seconds,
                "max.retries": max_retries,
                "retries.wait.ms": 100,
                "retries.max.wait.ms": 1000,
            }
        )
        self._compatibility_set: set[str] = set()

    async def register(self, subject: str, schema: str) -> int:
        try:
            schema_id = int(await self._client.register_schema(subject, Schema(schema, "AVRO")))
            if subject not in self._compatibility_set:
                await self._set_compatibility(subject)
                self._compatibility_set.add(subject)
        except SchemaRegistryError as error:
            if error.http_status_code == 409:
                raise IncompatibleSchemaError(
                    f"schema registry refused the schema for {subject!r}: {error.error_message}"
                ) from error
            raise self._unavailable(error) from error
        except Exception as error:  # transport errors (httpx or httpx2, whichever is installed)
            raise self._unavailable(error) from error
        return schema_id

    async def _set_compatibility(self, subject: str) -> None:
        # Set after the first version exists: some registries (Apicurio) want the subject.
        try:
            await self._client.set_compatibility(subject, COMPATIBILITY)
        except SchemaRegistryError as error:
            # Apicurio answers 409 "rule already exists" to the loser of two processes starting
            # at once; the winner set the same rule.
            if error.http_status_code != 409:
                raise

    async def schema(self, schema_id: int) -> str:
        try:
            found = await self._client.get_schema(schema_id)
        except SchemaRegistryError as error:
            if error.http_status_code == 404:
                raise UnknownSchemaError(f"no schema with id {schema_id}") from error
            if 400 <= error.http_status_code < 500 and error.http_status_code not in _RETRIABLE:
                raise UnknownSchemaError(f"schema {schema_id}: {error.error_message}") from error
            raise self._unavailable(error) from error
        except Exception as error:
            raise self._unavailable(error) from error
        if found.schema_type not in (None, "AVRO"):
            raise UnknownSchemaError(f"schema {schema_id} is {found.schema_type}, not Avro")
        return str(found.schema_str)

    async def ping(self) -> None:
        try:
            await self._client.get_schema_types()
        except Exception as error:
            raise self._unavailable(error) from error

    async def close(self) -> None:
        await self._client.aclose()

    def _unavailable(self, error: Exception) -> RegistryUnavailableError:
        return RegistryUnavailableError(
            f"schema registry at {self._url} is unavailable: {type(error).__name__}: {error}"
        )
