"""Avro schemas derived from pydantic models, so the event models stay the one source of truth.

Mapping: str/int/float/bool/bytes -> string/long/double/boolean/bytes; datetime -> long with the
timestamp-micros logical type; nested models -> named records; enums -> Avro enums (string when a
value is not a valid Avro symbol, like "execution.requested"); Literal -> string; `X | None` ->
["null", X] with default null; list[X] -> array; dict[str, X] -> map. Field defaults become Avro
defaults, which is what lets a reader with a newer schema read data written with an older one.
"""

import enum
import re
import types
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

AvroSchema = dict[str, Any]
_AvroType = str | dict[str, Any] | list[Any]

NAMESPACE = "sandpod.events"
_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PRIMITIVES: dict[type, str] = {
    bool: "boolean",  # before int: bool is a subclass of int
    int: "long",  # Python ints are unbounded; long avoids surprises past 2**31
    float: "double",
    str: "string",
    bytes: "bytes",
}


class UnsupportedTypeError(TypeError):
    """A model field has a type this generator cannot express in Avro."""


def avro_schema(model: type[BaseModel], *, namespace: str = NAMESPACE) -> AvroSchema:
    """The Avro record schema for `model` (a JSON-ready dict)."""
    return _Builder(namespace).define(model)


def avro_union_record(
    name: str,
    field: str,
    models: Sequence[type[BaseModel]],
    *,
    doc: str,
    namespace: str = NAMESPACE,
) -> AvroSchema:
    """A record whose one `field` holds any one of `models`: an Avro union of their records.

    Writers name the branch with fastavro's tuple notation, (full record name, value). Adding a
    model at the end of the union is a BACKWARD-compatible change; removing one is not.
    """
    builder = _Builder(namespace)
    branches = [builder.define(model) for model in models]
    return {
        "type": "record",
        "name": name,
        "namespace": namespace,
        "doc": doc,
        "fields": [{"name": field, "type": branches}],
    }


class _Builder:
    def __init__(self, namespace: str) -> None:
        self._namespace = namespace
        # A named type is defined once per schema; later uses refer to it by full name.
        self._defined: set[str] = set()

    def record(self, model: type[BaseModel]) -> _AvroType:
        full_name = f"{self._namespace}.{model.__name__}"
        return full_name if full_name in self._defined else self.define(model)

    def define(self, model: type[BaseModel]) -> AvroSchema:
        self._defined.add(f"{self._namespace}.{model.__name__}")
        fields = [self._field(name, info) for name, info in model.model_fields.items()]
        schema: AvroSchema = {
            "type": "record",
            "name": model.__name__,
            "namespace": self._namespace,
            "fields": fields,
        }
        if model.__doc__ and model.__doc__ is not BaseModel.__doc__:
            schema["doc"] = model.__doc__.strip()
        return schema

    def _field(self, name: str, info: FieldInfo) -> AvroSchema:
        avro_type = self._type(info.annotation, where=name)
        field: AvroSchema = {"name": name, "type": avro_type}
        if info.description:
            field["doc"] = info.description
        if not info.is_required() and info.default_factory is None:
            default = _json_default(info.default)
            if isinstance(avro_type, list):
                # Avro checks a union's default against its first branch: put that branch first.
                others = [branch for branch in avro_type if branch != "null"]
                avro_type[:] = ["null", *others] if default is None else [*others, "null"]
            field["default"] = default
        return field

    def _type(self, annotation: Any, *, where: str) -> _AvroType:
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType):
            args = get_args(annotation)
            branches = [self._type(arg, where=where) for arg in args if arg is not type(None)]
            if len(branches) != 1:
                raise UnsupportedTypeError(f"{where}: only `X | None` unions are supported")
            return ["null", branches[0]] if type(None) in args else branches[0]
        if origin is Literal:
            values = get_args(annotation)
            if not all(isinstance(value, str) for value in values):
                raise UnsupportedTypeError(f"{where}: only string literals are supported")
            return "string"
        if origin is list:
            (item,) = get_args(annotation)
            return {"type": "array", "items": self._type(item, where=where)}
        if origin is tuple:
            args = get_args(annotation)
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self._type(args[0], where=where)}
            raise UnsupportedTypeError(f"{where}: only `tuple[X, ...]` tuples are supported")
        if origin is dict:
            key, value = get_args(annotation)
            if key is not str:
                raise UnsupportedTypeError(f"{where}: Avro map keys are strings")
            return {"type": "map", "values": self._type(value, where=where)}
        if isinstance(annotation, type):
            return self._class(annotation, where=where)
        raise UnsupportedTypeError(f"{where}: cannot map {annotation!r} to Avro")

    def _class(self, cls: type, *, where: str) -> _AvroType:
        if issubclass(cls, BaseModel):
            return self.record(cls)
        if issubclass(cls, datetime):
            return {"type": "long", "logicalType": "timestamp-micros"}
        if issubclass(cls, enum.Enum):
            return self._enum(cls, where=where)
        for python_type, avro_name in _PRIMITIVES.items():
            if issubclass(cls, python_type):
                return avro_name
        raise UnsupportedTypeError(f"{where}: cannot map {cls.__name__} to Avro")

    def _enum(self, cls: type[enum.Enum], *, where: str) -> _AvroType:
        values = [member.value for member in cls]
        if not all(isinstance(value, str) for value in values):
            raise UnsupportedTypeError(f"{where}: only string enums are supported")
        if not all(_SYMBOL.fullmatch(value) for value in values):
            return "string"
        full_name = f"{self._namespace}.{cls.__name__}"
        if full_name in self._defined:
            return full_name
        self._defined.add(full_name)
        return {
            "type": "enum",
            "name": cls.__name__,
            "namespace": self._namespace,
            "symbols": values,
        }


def _json_default(value: Any) -> Any:
    """A field default as Avro wants it in the schema JSON."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    if isinstance(value, tuple):
        return [_json_default(item) for item in value]
    raise UnsupportedTypeError(f"cannot express the default {value!r} in Avro")
