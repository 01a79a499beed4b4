"""Lifecycle events to and from Avro in the Confluent wire format, with the schema in the registry.

The lifecycle topic has one value schema: a record whose `event` field is a union of one record per
event type. Writers use the schema derived from the current event models; readers resolve the
writer's schema (looked up by the id in the message) against their own, so either side can evolve
first under the subject's BACKWARD rule (new optional fields, new event types at the union's end).
"""

import asyncio
import io
import json
from functools import cache
from typing import Any

import fastavro
from pydantic import TypeAdapter, ValidationError

from sandpod.adapters.kafka.avro_schema import NAMESPACE, AvroSchema, avro_union_record
from sandpod.adapters.kafka.registry import SchemaRegistry
from sandpod.adapters.kafka.wire_format import MalformedMessageError, frame, unframe
from sandpod.domain.events import EVENT_MODELS, Event

_EVENTS: TypeAdapter[Event] = TypeAdapter(Event)
_MAX_DETAIL = 500  # error details end up in dead-letter headers; keep them readable
_FIELD = "event"


@cache
def lifecycle_schema() -> AvroSchema:
    """The value schema of the lifecycle topic."""
    return avro_union_record(
        "ExecutionLifecycle",
        _FIELD,
        list(EVENT_MODELS.values()),
        doc="One event in an execution's life; the record key is the execution id.",
    )


class EventCodec:
    def __init__(self, registry: SchemaRegistry, subject: str) -> None:
        self._registry = registry
        self._subject = subject
        self._reader = fastavro.parse_schema(lifecycle_schema())
        self._id: int | None = None  # registered id of our schema
        self._writers: dict[int, Any] = {}  # parsed writer schema per id
        self._lock = asyncio.Lock()

    async def register(self) -> int:
        """Register our schema (once per process) and return its id."""
        if self._id is None:
            async with self._lock:
                if self._id is None:
                    text = json.dumps(lifecycle_schema())
                    self._id = await self._registry.register(self._subject, text)
                    self._writers.setdefault(self._id, self._reader)
        return self._id

    async def encode(self, event: Event) -> bytes:
        schema_id = await self.register()
        branch = f"{NAMESPACE}.{type(event).__name__}"
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self._reader, {_FIELD: (branch, event.model_dump())})
        return frame(schema_id, buffer.getvalue())

    async def decode(self, message: bytes | None) -> Event:
        """Raises MalformedMessageError or UnknownSchemaError for messages that can never be read,
        RegistryUnavailableError when the writer's schema cannot be fetched right now."""
        schema_id, payload = unframe(message)
        writer = await self._writer(schema_id)
        buffer = io.BytesIO(payload)
        try:
            record = fastavro.schemaless_reader(buffer, writer, self._reader)
        except Exception as error:  # fastavro raises many types on garbage input
            detail = f"{type(error).__name__}: {error}"[:_MAX_DETAIL]
            raise MalformedMessageError(
                f"cannot read Avro with schema {schema_id}: {detail}"
            ) from error
        if buffer.tell() != len(payload):
            raise MalformedMessageError(
                f"{len(payload) - buffer.tell()} bytes left after the Avro record"
            )
        if not isinstance(record, dict) or _FIELD not in record:
            raise MalformedMessageError(f"a record without the {_FIELD!r} field")
        try:
            return _EVENTS.validate_python(record[_FIELD])
        except ValidationError as error:
            detail = str(error)[:_MAX_DETAIL]
            raise MalformedMessageError(f"not a valid lifecycle event: {detail}") from error

    async def _writer(self, schema_id: int) -> Any:
        parsed = self._writers.get(schema_id)
        if parsed is None:
            text = await self._registry.schema(schema_id)
            try:
                parsed = fastavro.parse_schema(json.loads(text))
            except Exception as error:
                raise MalformedMessageError(
                    f"schema {schema_id} is not a valid Avro schema: {error}"
                ) from error
            self._writers[schema_id] = parsed
        return parsed
