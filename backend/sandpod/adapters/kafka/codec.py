"""Events to and from Avro in the Confluent wire format, with schemas from the registry.

Writers use the schema derived from the current event model; readers resolve the writer's schema
(looked up by the id in the message) against their own, so either side can evolve first.
"""

import asyncio
import io
import json
from collections.abc import Callable
from typing import Any

import fastavro
from pydantic import TypeAdapter, ValidationError

from sandpod.adapters.kafka.avro_schema import AvroSchema, avro_schema
from sandpod.adapters.kafka.registry import SchemaRegistry
from sandpod.adapters.kafka.wire_format import MalformedMessageError, frame, unframe
from sandpod.domain.events import EVENT_MODELS, Event, EventType

_EVENTS: TypeAdapter[Event] = TypeAdapter(Event)
_MAX_DETAIL = 500  # error details end up in dead-letter headers; keep them readable


def schema_for(event_type: EventType) -> AvroSchema:
    return avro_schema(EVENT_MODELS[event_type])


class EventCodec:
    def __init__(self, registry: SchemaRegistry, subject_for: Callable[[EventType], str]) -> None:
        self._registry = registry
        self._subject_for = subject_for
        self._readers: dict[EventType, Any] = {}  # parsed schema per type, ours
        self._ids: dict[EventType, int] = {}  # registered id of our schema per type
        self._writers: dict[int, Any] = {}  # parsed writer schema per id
        self._lock = asyncio.Lock()

    async def register(self, event_type: EventType) -> int:
        """Register our schema for the type (once per process) and return its id."""
        schema_id = self._ids.get(event_type)
        if schema_id is None:
            async with self._lock:
                schema_id = self._ids.get(event_type)
                if schema_id is None:
                    text = json.dumps(schema_for(event_type))
                    schema_id = await self._registry.register(self._subject_for(event_type), text)
                    self._ids[event_type] = schema_id
                    self._writers.setdefault(schema_id, self._reader(event_type))
        return schema_id

    async def encode(self, event: Event) -> bytes:
        schema_id = await self.register(event.type)
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self._reader(event.type), event.model_dump())
        return frame(schema_id, buffer.getvalue())

    async def decode(self, event_type: EventType, message: bytes | None) -> Event:
        """Raises MalformedMessageError or UnknownSchemaError for messages that can never be read,
        RegistryUnavailableError when the writer's schema cannot be fetched right now."""
        schema_id, payload = unframe(message)
        writer = await self._writer(schema_id)
        buffer = io.BytesIO(payload)
        try:
            record = fastavro.schemaless_reader(buffer, writer, self._reader(event_type))
        except Exception as error:  # fastavro raises many types on garbage input
            detail = f"{type(error).__name__}: {error}"[:_MAX_DETAIL]
            raise MalformedMessageError(
                f"cannot read Avro with schema {schema_id}: {detail}"
            ) from error
        if buffer.tell() != len(payload):
            raise MalformedMessageError(
                f"{len(payload) - buffer.tell()} bytes left after the Avro record"
            )
        try:
            event = _EVENTS.validate_python(record)
        except ValidationError as error:
            detail = str(error)[:_MAX_DETAIL]
            raise MalformedMessageError(f"not a valid {event_type} event: {detail}") from error
        if event.type != event_type:
            raise MalformedMessageError(f"a {event.type} event on the {event_type} topic")
        return event

    def _reader(self, event_type: EventType) -> Any:
        parsed = self._readers.get(event_type)
        if parsed is None:
            parsed = self._readers[event_type] = fastavro.parse_schema(schema_for(event_type))
        return parsed

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
