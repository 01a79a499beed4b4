"""From a sandbox's raw output to ordered, bounded chunks on the output log.

The sandbox hands over bytes as it reads them (write() never waits); chunks go out in the
background, at most one append per flush interval, so a chatty program costs a few appends a
second rather than one per line, and a quiet one sees its first line within that interval. The
log is a live view only: when it fails, the run goes on and the result still has all the output.
"""

import asyncio
import codecs
import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from sandpod.domain.output import OutputChunk, OutputStream, split_text
from sandpod.ports import OutputLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkPolicy:
    chunk_chars: int = 8192
    flush_seconds: float = 0.05


class OutputRecorder:
    """One execution's output: the OutputSink its sandbox writes to. close() when it ended."""

    def __init__(self, output_log: OutputLog, execution_id: str, policy: ChunkPolicy) -> None:
        self._log = output_log
        self._execution_id = execution_id
        self._policy = policy
        self._decoders = {
            stream: codecs.getincrementaldecoder("utf-8")(errors="replace")
            for stream in OutputStream
        }
        self._pending: list[tuple[OutputStream, str, bool]] = []
        self._seq = 0
        self._lock = asyncio.Lock()  # appends go out one at a time, in seq order
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._broken = False

    def write(self, stream: OutputStream, data: bytes, *, truncated: bool = False) -> None:
        # The cut is the stream's end: nothing more of it will be decoded.
        text = self._decoders[stream].decode(data, final=truncated)
        if not text and not truncated:
            return
        self._pending.append((stream, text, truncated))
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._policy.flush_seconds, self._flush_soon)

    async def close(self) -> None:
        """Send what is left and mark the log complete."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await asyncio.gather(*self._flushes, return_exceptions=True)
        for stream, decoder in self._decoders.items():
            if rest := decoder.decode(b"", final=True):
                self._pending.append((stream, rest, False))
        async with self._lock:
            last = self._take()
            if not self._broken:  # the last chunks and the end in one write
                await self._guarded(self._log.end(self._execution_id, self._seq, last))

    def _flush_soon(self) -> None:
        self._timer = None
        task = asyncio.create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        async with self._lock:
            await self._send(self._take())

    def _take(self) -> list[OutputChunk]:
        """The pending output as chunks: neighbours of one stream merged, then cut to size."""
        merged: list[tuple[OutputStream, str, bool]] = []
        for stream, text, truncated in self._pending:
            if merged and merged[-1][0] is stream and not merged[-1][2]:
                merged[-1] = (stream, merged[-1][1] + text, truncated)
            else:
                merged.append((stream, text, truncated))
        self._pending = []
        chunks: list[OutputChunk] = []
        for stream, text, truncated in merged:
            pieces = split_text(text, self._policy.chunk_chars)
            for index, piece in enumerate(pieces):
                self._seq += 1
                last = index == len(pieces) - 1
                chunks.append(
                    OutputChunk(
                        stream=stream, seq=self._seq, text=piece, truncated=truncated and last
                    )
                )
        return chunks

    async def _send(self, chunks: list[OutputChunk]) -> None:
        if chunks and not self._broken:
            await self._guarded(self._log.append(self._execution_id, chunks))

    async def _guarded(self, call: Awaitable[None]) -> None:
        try:
            await call
        except Exception as error:  # a live view must never fail the run
            # Later chunks would leave a gap in seq: readers get the rest from the result.
            self._broken = True
            log.warning("live output of %s stopped: %s", self._execution_id, error)
