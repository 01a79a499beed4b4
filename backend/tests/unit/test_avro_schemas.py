"""Avro schemas derived from the event models, the wire format, and schema evolution (no I/O)."""

import io
import json
import struct
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import fastavro
import pytest
from fastavro.read import SchemaResolutionError
from pydantic import BaseModel

from sandpod.adapters.kafka.avro_schema import UnsupportedTypeError, avro_schema
from sandpod.adapters.kafka.codec import EventCodec, schema_for
from sandpod.adapters.kafka.registry import UnknownSchemaError
from sandpod.adapters.kafka.wire_format import MalformedMessageError, frame, unframe
from sandpod.domain.events import (
    EVENT_MODELS,
    CancelRequested,
    Event,
    EventType,
    ExecutionFinished,
    ExecutionRequested,
    ExecutionStarted,
)
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason, Result

AT = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


class MemoryRegistry:
    """A Schema Registry double: ids per distinct schema text, like the real one."""

    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}

    async def register(self, subject: str, schema: str) -> int:
        ids = {text: schema_id for schema_id, text in self.schemas.items()}
        schema_id = ids.get(schema) or len(self.schemas) + 1
        self.schemas[schema_id] = schema
        versions = self.subjects.setdefault(subject, [])
        if schema_id not in versions:
            versions.append(schema_id)
        return schema_id

    async def schema(self, schema_id: int) -> str:
        try:
            return self.schemas[schema_id]
        except KeyError:
            raise UnknownSchemaError(f"no schema with id {schema_id}") from None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


def codec(registry: MemoryRegistry) -> EventCodec:
    return EventCodec(registry, lambda event_type: f"t.sandpod.{event_type.value}-value")


def sample_events() -> list[Event]:
    result = Result(
        end_reason=EndReason.FAILED,
        exit_code=-9,
        stdout="out ünïcode\n",
        stderr="err",
        stdout_truncated=True,
        wall_seconds=1.25,
        cpu_seconds=0.5,
        peak_memory_bytes=2**40,
        message="killed",
    )
    events: list[Event] = [
        ExecutionRequested(
            execution_id="ex_1",
            occurred_at=AT,
            runtime="python:3.12",
            script="print(1)",
            stdin="",
            limits=DEFAULT_POLICY.defaults,
        ),
        ExecutionStarted(execution_id="ex_1", occurred_at=AT, runner="local"),
        CancelRequested(execution_id="ex_1", occurred_at=AT),
    ]
    for event_type in EventType:
        if EVENT_MODELS[event_type] is ExecutionFinished:
            events.append(
                ExecutionFinished(
                    execution_id="ex_1",
                    occurred_at=AT,
                    type=event_type,  # type: ignore[arg-type]  # loop over the terminal types: a str, not the Literal
                    result=result if event_type is EventType.FAILED else Result.platform_error("x"),
                )
            )
    return events


def fields(schema: dict[str, Any]) -> dict[str, Any]:
    return {field["name"]: field for field in schema["fields"]}


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_model_has_a_valid_avro_schema(event_type: EventType) -> None:
    schema = schema_for(event_type)
    fastavro.parse_schema(schema)
    model = EVENT_MODELS[event_type]
    assert schema["type"] == "record"
    assert schema["name"] == model.__name__
    assert set(fields(schema)) == set(model.model_fields)
    assert fields(schema)["occurred_at"]["type"] == {
        "type": "long",
        "logicalType": "timestamp-micros",
    }
    assert fields(schema)["type"]["type"] == "string"  # "execution.x" is no Avro enum symbol


def test_nested_models_become_records_and_types_map() -> None:
    requested = fields(schema_for(EventType.REQUESTED))
    limits = requested["limits"]["type"]
    assert limits["type"] == "record"
    assert limits["name"] == "Limits"
    assert {f["name"]: f["type"] for f in limits["fields"]}["wall_seconds"] == "double"
    assert {f["name"]: f["type"] for f in limits["fields"]}["memory_mb"] == "long"

    result = fields(schema_for(EventType.COMPLETED))["result"]["type"]
    by_name = fields(result)
    assert by_name["end_reason"]["type"]["type"] == "enum"
    assert by_name["end_reason"]["type"]["symbols"] == [reason.value for reason in EndReason]
    assert by_name["exit_code"]["type"] == ["null", "long"]
    assert by_name["exit_code"]["default"] is None
    assert by_name["message"]["type"] == ["null", "string"]
    assert by_name["stdout_truncated"] == {"name": "stdout_truncated", "type": "boolean"} | {
        "default": False
    }


def test_a_model_used_twice_is_defined_once() -> None:
    class Pair(BaseModel):
        first: Result
        second: Result | None = None
        tags: list[str] = []
        extra: dict[str, int] = {}

    schema = avro_schema(Pair)
    fastavro.parse_schema(schema)
    by_name = fields(schema)
    assert by_name["second"]["type"] == ["null", "sandpod.events.Result"]
    assert by_name["tags"]["type"] == {"type": "array", "items": "string"}
    assert by_name["extra"]["type"] == {"type": "map", "values": "long"}


def test_a_union_with_a_non_null_default_puts_that_branch_first() -> None:
    class Flag(BaseModel):
        level: int | None = 3

    assert fields(avro_schema(Flag))["level"] == {"name": "level", "type": ["long", "null"]} | {
        "default": 3
    }


def test_unsupported_types_are_refused_clearly() -> None:
    class Bad(BaseModel):
        value: int | str

    class NumberEnum(StrEnum):
        A = "a"

    class Fine(BaseModel):
        choice: NumberEnum

    with pytest.raises(UnsupportedTypeError, match="value"):
        avro_schema(Bad)
    assert fields(avro_schema(Fine))["choice"]["type"]["symbols"] == ["a"]


@pytest.mark.parametrize("event", sample_events(), ids=lambda event: event.type.value)
async def test_round_trip_through_the_wire_format(event: Event) -> None:
    registry = MemoryRegistry()
    events = codec(registry)

    message = await events.encode(event)

    magic, schema_id = struct.unpack(">bI", message[:5])
    assert magic == 0
    assert json.loads(registry.schemas[schema_id]) == schema_for(event.type)
    assert registry.subjects[f"t.sandpod.{event.type.value}-value"] == [schema_id]
    # A fresh codec (another process) knows nothing and must fetch the writer schema by id.
    decoded = await codec(registry).decode(event.type, message)
    assert decoded == event
    assert decoded.occurred_at == AT


def test_wire_format_frames_and_rejects_bad_headers() -> None:
    assert frame(7, b"abc") == b"\x00\x00\x00\x00\x07abc"
    assert unframe(b"\x00\x00\x00\x01\x00xyz") == (256, b"xyz")
    with pytest.raises(MalformedMessageError, match="magic byte 1"):
        unframe(b"\x01\x00\x00\x00\x07abc")
    with pytest.raises(MalformedMessageError, match="shorter"):
        unframe(b"\x00\x00")
    with pytest.raises(MalformedMessageError, match="no value"):
        unframe(None)


async def test_undecodable_messages_raise_permanent_errors() -> None:
    registry = MemoryRegistry()
    events = codec(registry)
    good = await events.encode(sample_events()[1])
    schema_id, payload = unframe(good)

    with pytest.raises(UnknownSchemaError):
        await events.decode(EventType.STARTED, frame(999, payload))
    with pytest.raises(MalformedMessageError, match="cannot read Avro"):
        await events.decode(EventType.STARTED, frame(schema_id, b"\xff\xff\xff"))
    with pytest.raises(MalformedMessageError, match="left after"):
        await events.decode(EventType.STARTED, good + b"\x00")
    with pytest.raises(MalformedMessageError, match="cannot read Avro"):
        await events.decode(EventType.CANCEL_REQUESTED, good)  # another record type
    completed = await events.encode(
        ExecutionFinished.from_result("ex_1", Result(end_reason=EndReason.COMPLETED))
    )
    with pytest.raises(
        MalformedMessageError, match=r"completed event on the execution\.failed topic"
    ):
        await events.decode(EventType.FAILED, completed)


# ------------------------------------------------------------------ evolution


def write(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


def read(data: bytes, writer: dict[str, Any], reader: dict[str, Any]) -> Any:
    return fastavro.schemaless_reader(
        io.BytesIO(data), fastavro.parse_schema(writer), fastavro.parse_schema(reader)
    )


def test_adding_an_optional_field_is_backward_compatible() -> None:
    class StartedV2(ExecutionStarted):
        node: str | None = None
        slot: int = 0

    old = schema_for(EventType.STARTED)
    new = avro_schema(StartedV2)
    new["name"] = old["name"]  # same record, next version
    record = ExecutionStarted(execution_id="ex_1", occurred_at=AT, runner="local").model_dump()

    # BACKWARD: consumers upgraded first read what old producers still write.
    upgraded = read(write(old, record), writer=old, reader=new)
    assert upgraded["node"] is None
    assert upgraded["slot"] == 0
    assert StartedV2.model_validate(upgraded).runner == "local"


def test_adding_a_required_field_is_not_backward_compatible() -> None:
    class StartedBroken(ExecutionStarted):
        node: str

    old = schema_for(EventType.STARTED)
    new = avro_schema(StartedBroken)
    new["name"] = old["name"]
    record = ExecutionStarted(execution_id="ex_1", occurred_at=AT, runner="local").model_dump()

    with pytest.raises(SchemaResolutionError):
        read(write(old, record), writer=old, reader=new)


async def test_the_codec_reads_events_written_with_an_older_schema() -> None:
    # An older producer whose Result had no `message` field yet.
    old = schema_for(EventType.COMPLETED)
    result = next(f for f in old["fields"] if f["name"] == "result")["type"]
    result["fields"] = [f for f in result["fields"] if f["name"] != "message"]
    registry = MemoryRegistry()
    old_id = await registry.register("old", json.dumps(old))
    record = {
        "execution_id": "ex_9",
        "occurred_at": AT,
        "type": "execution.completed",
        "result": {"end_reason": "completed", "exit_code": 0, "stdout": "hi\n"},
    }

    event = await codec(registry).decode(EventType.COMPLETED, frame(old_id, write(old, record)))

    assert isinstance(event, ExecutionFinished)
    assert event.result.stdout == "hi\n"
    assert event.result.message is None
