"""GET /api/v1/executions/{id}/attach: a WebSocket that types into a running program and shows
its output (interactive executions, embedded mode with the local runner).

Client to server, JSON text frames: `{"stdin": "text"}` writes the text to the program's
standard input, `{"eof": true}` closes it. Server to client: `{"event": "status" | "output",
"id": ..., "data": ...}` as the event stream sends them, and `{"event": "error", "data":
{"status", "detail"}}` for a frame it cannot take; it closes (1000) after the terminal status.
A refused connection is an HTTP problem (401, 403, 404, 409, 422, 429) where the server speaks
the WebSocket denial-response extension, else a close with code 4000 + that status.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket

from sandpod.api.auth import websocket_principal
from sandpod.api.problems import problem
from sandpod.api.rate_limits import charge_submit
from sandpod.api.state import ApiState
from sandpod.api.stream_events import event_data, event_name
from sandpod.domain.errors import SandpodError
from sandpod.services.attach import StdinPipe
from sandpod.services.follow import Position, StreamItem

router = APIRouter(prefix="/executions", tags=["executions"])
DENIAL = "websocket.http.response"


@router.websocket("/{execution_id}/attach")
async def attach_execution(websocket: WebSocket, execution_id: str) -> None:
    state: ApiState = websocket.app.state.api
    try:
        principal = await websocket_principal(websocket, state)
        await charge_submit(websocket, state, principal)
        pipe = await state.executions.attach(principal, execution_id)
        items = await state.executions.follow(principal, execution_id, Position())
    except (HTTPException, SandpodError) as error:
        await _refuse(websocket, error)
        return
    await websocket.accept()
    forward = asyncio.create_task(_forward(websocket, items))
    typing = asyncio.create_task(_type(websocket, pipe))
    try:
        # The end of the execution (all sent), or the client gone (its reader stopped).
        await asyncio.wait({forward, typing}, return_when=asyncio.FIRST_COMPLETED)
        if forward.done() and forward.exception() is None:
            await websocket.close(1000)
    finally:
        for task in (forward, typing):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await items.aclose()
        pipe.close()  # a client that went away ends the program's input


async def _forward(websocket: WebSocket, items: AsyncIterator[StreamItem]) -> None:
    async for item in items:
        await websocket.send_json(_frame(item))


def _frame(item: StreamItem) -> dict[str, Any]:
    return {"event": event_name(item), "id": item.position.token(), "data": event_data(item)}


async def _type(websocket: WebSocket, pipe: StdinPipe) -> None:
    """Each frame of the client, to the program's stdin, until it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            _take(message.get("text"), pipe)
        except (ValueError, SandpodError) as error:
            status = error.status if isinstance(error, SandpodError) else 422
            await websocket.send_json(
                {"event": "error", "data": {"status": status, "detail": str(error)}}
            )


def _take(text: str | None, pipe: StdinPipe) -> None:
    if text is None:
        raise ValueError("frames are JSON text, not binary")
    try:
        frame = json.loads(text)
    except ValueError:
        raise ValueError("a frame is not JSON") from None
    if not isinstance(frame, dict):
        raise ValueError("a frame is a JSON object")
    if frame.get("eof") is True:
        pipe.close()
    elif isinstance(frame.get("stdin"), str):
        pipe.send(frame["stdin"].encode("utf-8"))
    else:
        raise ValueError('send {"stdin": "text"} or {"eof": true}')


async def _refuse(websocket: WebSocket, error: HTTPException | SandpodError) -> None:
    status = error.status_code if isinstance(error, HTTPException) else error.status
    detail = str(error.detail) if isinstance(error, HTTPException) else str(error)
    if DENIAL in websocket.scope.get("extensions", {}):
        headers = dict(getattr(error, "headers", None) or {})
        path = websocket.url.path
        await websocket.send_denial_response(
            problem(status, detail, instance=path, headers=headers)
        )
        return
    # A close reason holds at most 123 bytes.
    reason = detail.encode("utf-8")[:120].decode("utf-8", errors="ignore")
    await websocket.close(code=4000 + status, reason=reason)
