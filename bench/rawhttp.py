"""A minimal HTTP/1.1 keep-alive client for the load generator: the benchmarks measure the server,
so the client should cost as little CPU as possible on the machine it shares with it.

httpx spends ~1-2 ms of CPU per request on its own (the server's two cores are the client's
too); this writes one request with asyncio streams and reads the answer's status, headers and
body (Content-Length or chunked), nothing else: no redirects, no TLS, no compression.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._headers = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> "Connection":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()
            self._reader = self._writer = None

    async def request(self, method: str, target: str, body: Any = None) -> Response:
        reader = await self._send(method, target, body)
        status, headers = await _head(reader)
        data = await _body(reader, headers)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, headers, data)

    async def stream(self, target: str) -> AsyncIterator[bytes]:
        """GET `target` and yield its body's lines (server-sent events) as they come. The
        connection is closed afterwards unless the body was read to its end."""
        reader = await self._send("GET", target, None)
        status, headers = await _head(reader)
        if status != 200:
            await self.close()
            raise RuntimeError(f"GET {target} answered {status}")
        ended = False
        try:
            pending = b""
            async for piece in _pieces(reader, headers):
                pending += piece
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.rstrip(b"\r")
            ended = True
        finally:
            if not ended:
                await self.close()  # the rest of the body is still on its way

    async def _send(self, method: str, target: str, body: Any) -> asyncio.StreamReader:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n{self._headers}"
            + (f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n" if data else "")
            + "\r\n"
        )
        self._writer.write(head.encode() + data)
        return self._reader


async def _head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _pieces(reader: asyncio.StreamReader, headers: dict[str, str]) -> AsyncIterator[bytes]:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            yield await reader.readexactly(size)
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")  # no trailers are sent: the empty line
    else:
        yield await reader.readexactly(int(headers.get("content-length", "0")))


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    return b"".join([piece async for piece in _pieces(reader, headers)])
