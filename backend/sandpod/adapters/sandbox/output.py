"""Concurrent, capped I/O with the sandboxed process.

Memory stays bounded whatever the program writes: at most `cap` bytes are kept per stream, the
rest is read and dropped (so the writer is never stuck on a full pipe), and asyncio's pipe
transport pauses reading once its own small buffer is full.
"""

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from sandpod.ports import StdinSource

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Captured:
    data: bytes
    truncated: bool

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


# What is kept of each read, as it is read, and whether the cap cut the stream there.
OnData = Callable[[bytes, bool], None]


async def read_capped(
    stream: asyncio.StreamReader,
    cap: int,
    on_overflow: Callable[[], None],
    on_data: OnData | None = None,
) -> Captured:
    """Read to EOF keeping the first `cap` bytes; call `on_overflow` once when there are more.

    `on_data` sees the kept bytes of each read at once (live output), the cut flagged."""
    kept = bytearray()
    truncated = False
    while chunk := await stream.read(CHUNK):
        if truncated:
            continue
        room = cap - len(kept)
        if len(chunk) > room:
            chunk = chunk[:room]
            truncated = True
            on_overflow()
        kept += chunk
        if on_data is not None:
            on_data(chunk, truncated)
    return Captured(bytes(kept), truncated)


async def feed_stdin(
    writer: asyncio.StreamWriter, data: bytes, more: StdinSource | None = None
) -> None:
    """Write all of `data`, then whatever `more` brings until it ends, and close; a program
    that exits without reading it is fine."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if data:
            writer.write(data)
            await writer.drain()
        while more is not None and (piece := await more.next()) is not None:
            writer.write(piece)
            await writer.drain()
    writer.close()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        await writer.wait_closed()
