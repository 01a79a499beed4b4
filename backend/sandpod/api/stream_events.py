"""The wire form of a followed execution's items: one shape for SSE and for attach."""

import json
from typing import Any

from sse_starlette import ServerSentEvent

from sandpod.services.follow import StreamItem


def event_name(item: StreamItem) -> str:
    return "output" if item.output is not None else "status"


def event_data(item: StreamItem) -> dict[str, Any]:
    body = item.output if item.output is not None else item.status
    assert body is not None
    return body.model_dump(mode="json")


def sse_event(item: StreamItem) -> ServerSentEvent:
    return ServerSentEvent(
        data=json.dumps(event_data(item)), event=event_name(item), id=item.position.token()
    )
