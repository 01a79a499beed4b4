"""Live output chunks on Redis streams: one stream per execution, entry id `0-<seq>`.

A stream rather than pub/sub: it keeps what was written, so a reader that connects late or
comes back with Last-Event-ID reads on from any seq (XREAD after `0-<seq>`), and a reader that
waits blocks on the server instead of polling. Explicit ids make the seq the stream's own order,
and Redis refuses an id that is not past the last, which drops the repeats of a rerun. Bounded:
MAXLEN on every add and a TTL renewed by each write.
"""

import logging
from collections.abc import Sequence
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

from sandpod.adapters.redis.errors import unavailable_when_down
from sandpod.domain.output import OutputChunk, OutputStream
from sandpod.ports import OutputRead

log = logging.getLogger(__name__)

Fields = dict[FieldT, EncodableT]
Entry = tuple[bytes, dict[bytes, bytes]]  # what XREAD returns per entry (RESP2, bytes)

# Redis answers a blocked XREAD only when it ends: stay well inside the client's socket timeout.
MAX_BLOCK_SECONDS = 2.0


class RedisOutputLog:
    def __init__(
        self, client: Redis, prefix: str, *, retention_seconds: int, max_chunks: int
    ) -> None:
        self._client = client
        self._prefix = f"{prefix}output:"
        self._retention = retention_seconds
        self._max_chunks = max_chunks

    async def append(self, execution_id: str, chunks: Sequence[OutputChunk]) -> None:
        await self._add(execution_id, _entries(chunks))

    async def end(
        self, execution_id: str, last_seq: int, chunks: Sequence[OutputChunk] = ()
    ) -> None:
        marker: Fields = {"end": "1"}
        await self._add(execution_id, [*_entries(chunks), (last_seq + 1, marker)])

    async def read(self, execution_id: str, *, after: int, wait_seconds: float) -> OutputRead:
        block = min(wait_seconds, MAX_BLOCK_SECONDS)
        with unavailable_when_down(self._client):
            raw = await self._client.xread(
                {self._key(execution_id): f"0-{max(0, after)}"},
                block=int(block * 1000) if block > 0 else None,
            )
        found = cast(list[tuple[bytes, list[Entry]]], raw or [])
        chunks: list[OutputChunk] = []
        for _, entries in found:
            for entry_id, fields in entries:
                if b"end" in fields:
                    return OutputRead(chunks=chunks, ended=True)
                chunks.append(_chunk(entry_id, fields))
        return OutputRead(chunks=chunks, ended=False)

    async def _add(self, execution_id: str, entries: list[tuple[int, Fields]]) -> None:
        key = self._key(execution_id)
        with unavailable_when_down(self._client):
            async with self._client.pipeline(transaction=False) as pipe:
                for seq, fields in entries:
                    pipe.xadd(
                        key,
                        fields,
                        id=f"0-{seq}",
                        maxlen=self._max_chunks,
                        approximate=False,
                    )
                pipe.expire(key, self._retention)
                answers = await pipe.execute(raise_on_error=False)
        for answer in answers:
            if isinstance(answer, ResponseError):
                if "equal or smaller" not in str(answer):
                    raise answer
                log.info("output of %s: ignored a chunk already written", execution_id)

    def _key(self, execution_id: str) -> str:
        return f"{self._prefix}{execution_id}"


def _entries(chunks: Sequence[OutputChunk]) -> list[tuple[int, Fields]]:
    return [
        (
            chunk.seq,
            {
                "stream": chunk.stream.value,
                "text": chunk.text,
                "truncated": "1" if chunk.truncated else "0",
            },
        )
        for chunk in chunks
    ]


def _chunk(entry_id: bytes, fields: dict[bytes, bytes]) -> OutputChunk:
    return OutputChunk(
        stream=OutputStream(fields[b"stream"].decode()),
        seq=int(entry_id.split(b"-")[1]),
        text=fields[b"text"].decode("utf-8"),
        truncated=fields.get(b"truncated") == b"1",
    )
