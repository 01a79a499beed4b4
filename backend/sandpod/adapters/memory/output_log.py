"""Live output chunks kept in this process (embedded mode), bounded in count and time."""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sandpod.domain.output import OutputChunk
from sandpod.ports import OutputRead


@dataclass
class _Log:
    chunks: list[OutputChunk] = field(default_factory=list)
    ended: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    touched: float = field(default_factory=time.monotonic)


class InMemoryOutputLog:
    def __init__(self, *, retention_seconds: float = 3600, max_executions: int = 1000) -> None:
        self._logs: OrderedDict[str, _Log] = OrderedDict()
        self._retention = retention_seconds
        self._max = max_executions

    async def append(self, execution_id: str, chunks: Sequence[OutputChunk]) -> None:
        log = self._log(execution_id, create=True)
        assert log is not None
        _add(log, chunks)
        self._wake(execution_id, log)

    async def end(
        self, execution_id: str, last_seq: int, chunks: Sequence[OutputChunk] = ()
    ) -> None:
        log = self._log(execution_id, create=True)
        assert log is not None
        _add(log, chunks)
        log.ended = True
        self._wake(execution_id, log)

    async def read(self, execution_id: str, *, after: int, wait_seconds: float) -> OutputRead:
        log = self._log(execution_id, create=False)
        if log is None:
            # Nothing yet: wait for the first chunk on a log made now (it expires like any).
            if wait_seconds <= 0:
                return OutputRead(chunks=(), ended=False)
            log = self._log(execution_id, create=True)
            assert log is not None
        found = self._after(log, after)
        if not found and not log.ended and wait_seconds > 0:
            log.changed.clear()
            try:
                async with asyncio.timeout(wait_seconds):
                    await log.changed.wait()
            except TimeoutError:
                pass
            found = self._after(log, after)
        return OutputRead(chunks=found, ended=log.ended)

    @staticmethod
    def _after(log: _Log, after: int) -> list[OutputChunk]:
        # seq is the position plus one: the list holds 1..n without gaps.
        return log.chunks[max(0, after) :]

    def _wake(self, execution_id: str, log: _Log) -> None:
        log.touched = time.monotonic()
        self._logs.move_to_end(execution_id)  # oldest first: expiry looks at the front only
        log.changed.set()

    def _log(self, execution_id: str, *, create: bool) -> _Log | None:
        self._expire()
        log = self._logs.get(execution_id)
        if log is None and create:
            log = self._logs[execution_id] = _Log()
            while len(self._logs) > self._max:
                self._logs.popitem(last=False)
        return log

    def _expire(self) -> None:
        horizon = time.monotonic() - self._retention
        while self._logs:
            oldest_id, oldest = next(iter(self._logs.items()))
            if oldest.touched >= horizon:
                return
            del self._logs[oldest_id]


def _add(log: _Log, chunks: Sequence[OutputChunk]) -> None:
    for chunk in chunks:
        last = log.chunks[-1].seq if log.chunks else 0
        if chunk.seq == last + 1 and not log.ended:
            log.chunks.append(chunk)
