"""Concurrent, capped I/O with the sandboxed process.

Memory stays bounded whatever the program writes: at most `cap` bytes are kept per stream, the
rest is read and dropped (so the writer is never stuck on a full pipe), and asyncio's pipe
transport pauses reading once its own small buffer is full.
"""

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Captured:
    data: bytes
    truncated: bool

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


async def read_capped(
    stream: asyncio.StreamReader, cap: int, on_overflow: Callable[[], None]
) -> Captured:
    """Read to EOF keeping the first `cap` bytes; call `on_overflow` once when there are more."""
    kept = bytearray()
    truncated = False
    while chunk := await stream.read(CHUNK):
        if truncated:
            continue
        room = cap - len(kept)
        if len(chunk) > room:
            kept += chunk[:room]
            truncated = True
            on_overflow()
        else:
            kept += chunk
    return Captured(bytes(kept), truncated)


async def feed_stdin(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write all of `data` and close; a program that exits without reading it is fine."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if data:
            writer.write(data)
            await writer.drain()
    writer.close()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        await writer.wait_closed()
