"""The monitor's side of the entrypoint's report: parse the summary, verify and decode the frames.

The format is defined once, in entrypoint.py (imported here for its constants; it has no sandpod
imports of its own). Nothing in the log is trusted until its sha256 matches the termination message.
"""

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass
from typing import Any

from sandpod.adapters.kubernetes.entrypoint import (
    COMPILE_FRAME,
    FILE_FRAME,
    FORMAT_VERSION,
    LIVE_CUT,
    LIVE_FRAME,
    LIVE_MORE,
    MAGIC,
    OUTCOMES,
    STREAMS,
)

# decode_frames' key for a kept output file: the prefix, then its name (names have no ':').
FILE_KEY = "file:"


class FramingError(ValueError):
    """The report is missing, malformed or does not verify."""


@dataclass(frozen=True)
class Summary:
    outcome: str
    exit_code: int | None
    container_exit: int
    wall_seconds: float
    cpu_seconds: float
    peak_memory_bytes: int
    stdout_truncated: bool
    stderr_truncated: bool
    frames_sha256: str
    frames_bytes: int
    frames_lines: int
    message: str | None
    compile: "CompileSummary | None" = None
    files_truncated: bool = False


@dataclass(frozen=True)
class CompileSummary:
    outcome: str
    exit_code: int | None
    wall_seconds: float
    cpu_seconds: float
    peak_memory_bytes: int
    output_truncated: bool


def _compile_summary(data: Any) -> CompileSummary | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise FramingError("summary field 'compile' is not an object")
    exit_code = data.get("exit_code")
    return CompileSummary(
        outcome=_typed(data, "outcome", str),
        exit_code=None if exit_code is None else _typed(data, "exit_code", int),
        wall_seconds=float(_typed(data, "wall_seconds", (int, float))),
        cpu_seconds=float(_typed(data, "cpu_seconds", (int, float))),
        peak_memory_bytes=_typed(data, "peak_memory_bytes", int),
        output_truncated=_typed(data, "output_truncated", bool),
    )


def _typed(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(key)
    # bool is an int in Python; never accept one where a number is meant
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise FramingError(f"summary field {key!r} is missing or has the wrong type")
    return value


def parse_summary(text: str | None) -> Summary:
    if not text:
        raise FramingError("the sandbox left no termination message")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FramingError("the termination message is not JSON") from exc
    if not isinstance(data, dict):
        raise FramingError("the termination message is not a JSON object")
    if data.get("v") != FORMAT_VERSION:
        raise FramingError(f"unsupported report version {data.get('v')!r}")
    outcome = _typed(data, "outcome", str)
    if outcome not in OUTCOMES:
        raise FramingError(f"unknown outcome {outcome!r}")
    exit_code = data.get("exit_code")
    if exit_code is not None:
        exit_code = _typed(data, "exit_code", int)
    message = data.get("message")
    return Summary(
        outcome=outcome,
        exit_code=exit_code,
        container_exit=_typed(data, "container_exit", int),
        wall_seconds=float(_typed(data, "wall_seconds", (int, float))),
        cpu_seconds=float(_typed(data, "cpu_seconds", (int, float))),
        peak_memory_bytes=_typed(data, "peak_memory_bytes", int),
        stdout_truncated=_typed(data, "stdout_truncated", bool),
        stderr_truncated=_typed(data, "stderr_truncated", bool),
        frames_sha256=_typed(data, "frames_sha256", str),
        frames_bytes=_typed(data, "frames_bytes", int),
        frames_lines=_typed(data, "frames_lines", int),
        message=message if isinstance(message, str) else None,
        compile=_compile_summary(data.get("compile")),
        files_truncated=data.get("files_truncated") is True,
    )


def verified_block(log: bytes, summary: Summary) -> bytes:
    """The entrypoint's block: the log's last `frames_bytes`, accepted only if the digest matches.

    Everything before it (even a perfect fake block written by the script) is ignored.
    """
    if summary.frames_bytes <= 0 or len(log) < summary.frames_bytes:
        raise FramingError("the pod log is shorter than the reported output block")
    block = log[-summary.frames_bytes :]
    digest = hashlib.sha256(block).hexdigest()
    if not hmac.compare_digest(digest, summary.frames_sha256):
        raise FramingError("the pod log does not match the digest in the termination message")
    return block


def _frame_key(header: list[str]) -> str | None:
    """The key a frame's bytes go under, or None for a header that is not a frame's."""
    if len(header) == 4 and header[0] == MAGIC and header[1] in (*STREAMS, COMPILE_FRAME):
        return header[1]
    if len(header) == 5 and header[0] == MAGIC and header[1] == FILE_FRAME:
        try:
            return FILE_KEY + bytes.fromhex(header[2]).decode("utf-8")
        except ValueError:
            return None
    return None


def decode_frames(
    block: bytes, *, max_bytes: int | None = None, max_file_bytes: int | None = None
) -> dict[str, bytes]:
    """Parse a (verified) block into its streams (and `file:<name>` files); strict: any
    deviation is an error."""
    try:
        lines = block.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise FramingError("the output block is not ASCII") from exc
    if lines[-1] != "":
        raise FramingError("the output block does not end with a newline")
    lines.pop()
    streams: dict[str, bytes] = {}
    index = 0
    while index < len(lines):
        header = lines[index].split(" ")
        index += 1
        if header == [MAGIC, "end"]:
            if index != len(lines):
                raise FramingError("data after the end frame")
            missing = set(STREAMS) - set(streams)
            if missing:
                raise FramingError(f"missing frames: {', '.join(sorted(missing))}")
            return streams
        name = _frame_key(header)
        if name is None:
            raise FramingError(f"bad frame header at line {index}")
        raw_size, encoded_size = _count(header[-2]), _count(header[-1])
        if name in streams:
            raise FramingError(f"duplicate frame {name!r}")
        parts: list[str] = []
        collected = 0
        while collected < encoded_size and index < len(lines):
            parts.append(lines[index])
            collected += len(lines[index])
            index += 1
        bound = max_file_bytes if name.startswith(FILE_KEY) else max_bytes
        streams[name] = _decode_payload("".join(parts), encoded_size, raw_size, bound)
    raise FramingError("the output block has no end frame")


def _count(text: str) -> int:
    if not text.isdigit():
        raise FramingError(f"bad length {text!r} in a frame header")
    return int(text)


def _decode_payload(encoded: str, encoded_size: int, raw_size: int, max_bytes: int | None) -> bytes:
    if len(encoded) != encoded_size:
        raise FramingError("a frame's payload length does not match its header")
    if max_bytes is not None and raw_size > max_bytes:
        raise FramingError("a frame is larger than the output limit")
    try:
        compressed = base64.b64decode(encoded, validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, raw_size + 1)  # bounded: no zip bombs
    except (binascii.Error, zlib.error) as exc:
        raise FramingError("a frame's payload does not decode") from exc
    if len(raw) != raw_size or not inflater.eof:
        raise FramingError("a frame's decoded size does not match its header")
    return raw


def read_report(
    log: bytes,
    summary: Summary,
    *,
    max_bytes: int | None = None,
    max_file_bytes: int | None = None,
) -> dict[str, bytes]:
    """Verify the log against the summary and return {"stdout": ..., "stderr": ...} (with
    "compile" and "file:<name>" entries when the report has them)."""
    return decode_frames(
        verified_block(log, summary), max_bytes=max_bytes, max_file_bytes=max_file_bytes
    )


# The final block's first line (its stdout frame): no live line follows it.
BLOCK_START = f"{MAGIC} {STREAMS[0]} ".encode()
_LIVE_START = f"{MAGIC} {LIVE_FRAME} ".encode()


@dataclass(frozen=True)
class LivePiece:
    stream: str
    data: bytes
    cut: bool


def parse_live_line(line: bytes) -> LivePiece | None:
    """One line of the pod log while it runs: a live piece, or None for any other line."""
    if not line.startswith(_LIVE_START):
        return None  # e.g. a warning of the entrypoint's own interpreter
    try:
        words = line.decode("ascii").rstrip("\n").split(" ")
    except UnicodeDecodeError as exc:
        raise FramingError("a live line is not ASCII") from exc
    if len(words) != 5 or words[2] not in STREAMS or words[3] not in (LIVE_MORE, LIVE_CUT):
        raise FramingError(f"bad live line: {' '.join(words[:4])[:80]!r}")
    try:
        data = base64.b64decode(words[4], validate=True)
    except binascii.Error as exc:
        raise FramingError("a live line's payload does not decode") from exc
    return LivePiece(words[2], data, words[3] == LIVE_CUT)
