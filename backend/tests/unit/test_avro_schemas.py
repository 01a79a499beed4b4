"""Avro schemas derived from the event models, the wire format, and schema evolution (no I/O)."""

import copy
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
from sandpod.adapters.kafka.codec import EventCodec, lifecycle_schema
from sandpod.adapters.kafka.registry import UnknownSchemaError
from sandpod.adapters.kafka.wire_format import MalformedMessageError, frame, unframe
from sandpod.domain.events import (
    EVENT_MODELS,
    CancelRequested,
    Event,
    ExecutionFinished,
    ExecutionRequested,
    ExecutionStarted,
)
from sandpod.domain.execution import ExecutionSpec
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


SUBJECT = "t.sandpod.execution-lifecycle-value"


def codec(registry: MemoryRegistry) -> EventCodec:
    return EventCodec(registry, SUBJECT)


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
    return [
        ExecutionRequested(execution_id="ex_1", occurred_at=AT),
        ExecutionRequested(execution_id="ex_1", occurred_at=AT, resent=True),
        ExecutionStarted(execution_id="ex_1", occurred_at=AT, runner="local"),
        ExecutionFinished(execution_id="ex_1", occurred_at=AT, result=result),
        ExecutionFinished(execution_id="ex_1", occurred_at=AT, result=Result.platform_error("x")),
        CancelRequested(execution_id="ex_1", occurred_at=AT),
    ]


def fields(schema: dict[str, Any]) -> dict[str, Any]:
    return {field["name"]: field for field in schema["fields"]}


def branches(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The lifecycle schema's union branches by record name."""
    return {branch["name"]: branch for branch in fields(schema)["event"]["type"]}


def test_the_lifecycle_schema_is_one_record_holding_a_union_of_every_event() -> None:
    schema = lifecycle_schema()
    fastavro.parse_schema(schema)
    assert (schema["type"], schema["name"]) == ("record", "ExecutionLifecycle")
    assert list(fields(schema)) == ["event"]
    by_name = branches(schema)
    assert list(by_name) == [model.__name__ for model in EVENT_MODELS.values()]
    for model in EVENT_MODELS.values():
        branch = by_name[model.__name__]
        assert branch["type"] == "record"
        assert set(fields(branch)) == set(model.model_fields)
        assert fields(branch)["occurred_at"]["type"] == {
            "type": "long",
            "logicalType": "timestamp-micros",
        }
        assert fields(branch)["type"]["type"] == "string"


def test_nested_models_become_records_and_types_map() -> None:
    limits = fields(avro_schema(ExecutionSpec))["limits"]["type"]
    assert limits["type"] == "record"
    assert limits["name"] == "Limits"
    assert {f["name"]: f["type"] for f in limits["fields"]}["wall_seconds"] == "double"
    assert {f["name"]: f["type"] for f in limits["fields"]}["memory_mb"] == "long"

    result = fields(branches(lifecycle_schema())["ExecutionFinished"])["result"]["type"]
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
    assert json.loads(registry.schemas[schema_id]) == lifecycle_schema()
    assert registry.subjects[SUBJECT] == [schema_id]
    # A fresh codec (another process) knows nothing and must fetch the writer schema by id.
    decoded = await codec(registry).decode(message)
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
    good = await events.encode(sample_events()[2])
    schema_id, payload = unframe(good)

    with pytest.raises(UnknownSchemaError):
        await events.decode(frame(999, payload))
    with pytest.raises(MalformedMessageError, match="cannot read Avro"):
        await events.decode(frame(schema_id, b"\xff\xff\xff"))
    with pytest.raises(MalformedMessageError, match="left after"):
        await events.decode(good + b"\x00")
    # A bare event record, not the lifecycle envelope (a producer that got the schema wrong).
    bare = avro_schema(ExecutionStarted)
    bare_id = await registry.register("bare", json.dumps(bare))
    started = ExecutionStarted(execution_id="ex_1", occurred_at=AT, runner="r").model_dump()
    with pytest.raises(MalformedMessageError, match="cannot read Avro"):
        await events.decode(frame(bare_id, write(bare, started)))


# ------------------------------------------------------------------ evolution


def write(schema: dict[str, Any], record: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


def read(data: bytes, writer: dict[str, Any], reader: dict[str, Any]) -> Any:
    return fastavro.schemaless_reader(
        io.BytesIO(data), fastavro.parse_schema(writer), fastavro.parse_schema(reader)
    )


def started_record() -> dict[str, Any]:
    started = ExecutionStarted(execution_id="ex_1", occurred_at=AT, runner="local")
    return {"event": ("sandpod.events.ExecutionStarted", started.model_dump())}


def with_started_field(field: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(lifecycle_schema())
    branches(schema)["ExecutionStarted"]["fields"].append(field)
    return schema


def test_adding_an_optional_field_is_backward_compatible() -> None:
    old = lifecycle_schema()
    new = with_started_field({"name": "node", "type": ["null", "string"], "default": None})

    # BACKWARD: consumers upgraded first read what old producers still write.
    upgraded = read(write(old, started_record()), writer=old, reader=new)["event"]
    assert upgraded["node"] is None
    assert ExecutionStarted.model_validate(upgraded).runner == "local"


def test_adding_an_event_type_at_the_end_is_backward_compatible() -> None:
    old = lifecycle_schema()
    new = copy.deepcopy(old)
    paused = {
        "type": "record",
        "name": "ExecutionPaused",
        "fields": [{"name": "execution_id", "type": "string"}],
    }
    fields(new)["event"]["type"].append(paused)

    upgraded = read(write(old, started_record()), writer=old, reader=new)["event"]
    assert upgraded["runner"] == "local"


def test_adding_a_required_field_is_not_backward_compatible() -> None:
    old = lifecycle_schema()
    new = with_started_field({"name": "node", "type": "string"})

    with pytest.raises(SchemaResolutionError):
        read(write(old, started_record()), writer=old, reader=new)


async def test_the_codec_reads_events_written_with_an_older_schema() -> None:
    # An older producer whose Result had no `message` field yet.
    old = copy.deepcopy(lifecycle_schema())
    result = fields(branches(old)["ExecutionFinished"])["result"]["type"]
    result["fields"] = [f for f in result["fields"] if f["name"] != "message"]
    registry = MemoryRegistry()
    old_id = await registry.register("old", json.dumps(old))
    finished = {
        "execution_id": "ex_9",
        "occurred_at": AT,
        "type": "finished",
        "result": {"end_reason": "completed", "exit_code": 0, "stdout": "hi\n"},
    }
    message = frame(old_id, write(old, {"event": ("sandpod.events.ExecutionFinished", finished)}))

    event = await codec(registry).decode(message)

    assert isinstance(event, ExecutionFinished)
    assert event.result.stdout == "hi\n"
    assert event.result.message is None
