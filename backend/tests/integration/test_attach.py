"""Interactive stdin over GET /executions/{id}/attach, with scripts in the real local sandbox."""

import json
from typing import Any

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketUpgradeError, aconnect_ws

from sandpod.adapters.sandbox import LocalSandboxRunner
from tests.integration.stacks import EXECUTIONS, TERMINAL, running

pytestmark = pytest.mark.slow

ECHO = {
    "runtime": "python:3.12",
    "script": (
        "print('ready', flush=True)\n"
        "for line in iter(input, 'bye'):\n"
        "    print('you said', line.upper(), flush=True)\n"
        "print('done', flush=True)\n"
    ),
    "interactive": True,
}


async def frames_until(ws: AsyncWebSocketSession, wanted: str) -> list[dict[str, Any]]:
    """Frames until an output frame holding `wanted` (or the terminal status)."""
    seen: list[dict[str, Any]] = []
    while True:
        frame = json.loads(await ws.receive_text(timeout=30))
        seen.append(frame)
        if frame["event"] == "output" and wanted in frame["data"]["text"]:
            return seen
        if frame["event"] == "status" and frame["data"]["status"] in TERMINAL:
            return seen


async def test_lines_typed_reach_the_program_and_its_answers_come_back(
    sandbox_runner: LocalSandboxRunner,
) -> None:
    async with running("embedded", sandbox_runner) as stack:
        execution_id = await stack.submit(ECHO)
        owner = stack.headers["owner"]
        async with stack.served() as base, httpx.AsyncClient(base_url=base) as http:
            url = f"{base}{EXECUTIONS}/{execution_id}/attach"
            ws: AsyncWebSocketSession
            async with aconnect_ws(url, http, headers=dict(owner)) as ws:
                await frames_until(ws, "ready")
                await ws.send_text(json.dumps({"stdin": "hello\n"}))
                answered = await frames_until(ws, "you said HELLO")
                assert answered[-1]["data"]["text"].endswith("you said HELLO\n")
                await ws.send_text(json.dumps({"stdin": "bye\n"}))
                rest = await frames_until(ws, "no such text")
                assert rest[-1]["data"]["status"] == "completed"
                seqs = [f["data"]["seq"] for f in answered + rest if f["event"] == "output"]
                assert seqs == sorted(seqs)
        finished = await stack.finished(execution_id)
        assert finished["result"]["stdout"] == "ready\nyou said HELLO\ndone\n"


async def test_a_bad_frame_is_answered_and_eof_ends_the_input(
    sandbox_runner: LocalSandboxRunner,
) -> None:
    reader = {
        "runtime": "python:3.12",
        "script": "import sys\nprint(repr(sys.stdin.read()))\n",
        "stdin": "given ",
        "interactive": True,
    }
    async with running("embedded", sandbox_runner) as stack:
        execution_id = await stack.submit(reader)
        async with stack.served() as base, httpx.AsyncClient(base_url=base) as http:
            url = f"{base}{EXECUTIONS}/{execution_id}/attach"
            ws: AsyncWebSocketSession
            async with aconnect_ws(url, http, headers=dict(stack.headers["owner"])) as ws:
                await ws.send_text("not json")
                error = json.loads(await ws.receive_text(timeout=30))
                while error["event"] == "status":  # the current status comes first
                    error = json.loads(await ws.receive_text(timeout=30))
                assert error["event"] == "error"
                assert error["data"]["status"] == 422
                await ws.send_text(json.dumps({"stdin": "typed"}))
                await ws.send_text(json.dumps({"eof": True}))
                frames = await frames_until(ws, "no such text")
        assert frames[-1]["data"]["result"]["stdout"] == "'given typed'\n"


async def test_a_refusal_is_an_http_problem_before_the_upgrade(
    sandbox_runner: LocalSandboxRunner,
) -> None:
    async with running("embedded", sandbox_runner) as stack:
        plain = await stack.submit({"runtime": "python:3.12", "script": "print(1)"})
        async with stack.served() as base, httpx.AsyncClient(base_url=base) as http:
            url = f"{base}{EXECUTIONS}/{plain}/attach"
            with pytest.raises(WebSocketUpgradeError) as refused:
                async with aconnect_ws(url, http, headers=dict(stack.headers["owner"])):
                    pass
            answer = refused.value.response
            assert answer.status_code == 422
            assert answer.headers["content-type"] == "application/problem+json"
            # The same handshake by hand, to read the problem's body.
            upgrade = {
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13",
            }
            raw = await http.get(url, headers={**stack.headers["owner"], **upgrade})
            assert raw.status_code == 422
            assert '"interactive": true' in raw.json()["detail"]
        await stack.finished(plain)


async def test_distributed_mode_refuses_interactive_submissions_clearly(
    sandbox_runner: LocalSandboxRunner,
) -> None:
    async with running("distributed", sandbox_runner) as stack:
        response = await stack.http.post(EXECUTIONS, json=ECHO, headers=stack.headers["owner"])
        assert response.status_code == 422
        assert "embedded mode with the local runner" in response.json()["detail"]
