"""A small server-sent-events reader for tests: each event with the time it arrived."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx


@dataclass(frozen=True)
class Received:
    id: str
    event: str
    data: dict[str, Any]
    at: datetime  # when the client had it


async def read_events(
    http: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    *,
    last_event_id: str | None = None,
    stop_after: int | None = None,
) -> list[Received]:
    """The stream's events until it closes, or until `stop_after` of them (then hang up)."""
    sent = dict(headers)
    if last_event_id is not None:
        sent["Last-Event-ID"] = last_event_id
    received: list[Received] = []
    async with http.stream("GET", url, headers=sent) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line.startswith(":"):  # heartbeat
                continue
            if line:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
                continue
            if "data" in fields:
                received.append(
                    Received(
                        id=fields.get("id", ""),
                        event=fields.get("event", "message"),
                        data=json.loads(fields["data"]),
                        at=datetime.now(UTC),
                    )
                )
                if stop_after is not None and len(received) >= stop_after:
                    break
            fields = {}
    return received
