"""The Confluent wire format: magic byte 0, the schema id (4 bytes, big-endian), Avro binary."""

import struct

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")


class MalformedMessageError(ValueError):
    """Bytes that are not a message in the wire format, or whose Avro body cannot be read."""


def frame(schema_id: int, payload: bytes) -> bytes:
    return _HEADER.pack(MAGIC_BYTE, schema_id) + payload


def unframe(message: bytes | None) -> tuple[int, bytes]:
    """Split a message into (schema id, Avro payload)."""
    if message is None:
        raise MalformedMessageError("empty message (no value)")
    if len(message) < _HEADER.size:
        raise MalformedMessageError(f"message of {len(message)} bytes is shorter than the header")
    magic, schema_id = _HEADER.unpack_from(message)
    if magic != MAGIC_BYTE:
        raise MalformedMessageError(f"unknown magic byte {magic} (expected {MAGIC_BYTE})")
    return schema_id, message[_HEADER.size :]
