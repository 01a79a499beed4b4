"""A small HTTP client for the CLI: submit, follow the SSE stream, print the result."""

import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import click
import httpx

API = "/api/v1"
TERMINAL = frozenset({"completed", "failed", "timed_out", "cancelled", "errored"})
# Seconds before each reopening of a stream that closed before the terminal event; past the last
# one the CLI reads the execution instead.
RECONNECT_DELAYS = (0.2, 0.5, 1.0)


class SubmitFailedError(RuntimeError):
    pass


def _problem_detail(response: httpx.Response) -> str:
    try:
        detail = str(response.json().get("detail", response.text))
    except ValueError:
        detail = response.text
    if response.status_code == 401:
        detail += " (sign in with `sandpod login`)"
    return detail


def login(url: str, username: str, password: str) -> str:
    """An access token for the account, or SubmitFailedError with the server's reason."""
    with httpx.Client(base_url=url, timeout=30) as http:
        response = http.post(f"{API}/auth/login", json={"username": username, "password": password})
    if response.status_code != 200:
        raise SubmitFailedError(f"{response.status_code}: {_problem_detail(response)}")
    token: str = response.json()["access_token"]
    return token


def whoami(url: str, token: str) -> str:
    """The username the credential (token or API key) belongs to, or SubmitFailedError."""
    with httpx.Client(base_url=url, timeout=30) as http:
        response = http.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise SubmitFailedError(f"{response.status_code}: {_problem_detail(response)}")
    username: str = response.json()["username"]
    return username


def logout(url: str, token: str) -> None:
    """End every session of the account on the server (best effort: 401 means already ended)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        response = http.post(f"{API}/auth/logout", headers={"Authorization": f"Bearer {token}"})
    if response.status_code not in (204, 401):
        raise SubmitFailedError(f"{response.status_code}: {_problem_detail(response)}")


def _sse_events(response: httpx.Response) -> Iterator[tuple[str, str, str | None]]:
    """(event, data, id) of each event of a text/event-stream."""
    event, data, event_id = "message", list[str](), None
    for line in response.iter_lines():
        if not line:
            if data:
                yield event, "\n".join(data), event_id
            event, data, event_id = "message", [], None
        elif line.startswith(":"):
            continue  # heartbeat
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
        elif line.startswith("id:"):
            event_id = line[3:].strip()


@dataclass
class _Follow:
    """What following one execution's events has seen, across reconnects."""

    last: dict[str, Any] = field(default_factory=dict)
    last_event_id: str | None = None
    printed_seq: int = 0  # the last `output` chunk printed (none is printed twice)
    printed: dict[str, int] = field(default_factory=dict)  # characters printed, per stream

    @property
    def ended(self) -> bool:
        return self.last.get("status") in TERMINAL and self.last.get("result") is not None

    def take(self, execution_id: str, event: str, data: str, event_id: str | None) -> None:
        if event_id is not None:
            self.last_event_id = event_id
        if event == "status":
            self.last = json.loads(data)
            click.echo(f"{execution_id} {self.last['status']}", err=True)
        elif event == "output":
            chunk = json.loads(data)
            if chunk["seq"] <= self.printed_seq:
                return
            self.printed_seq = chunk["seq"]
            stream = chunk["stream"]
            self.printed[stream] = self.printed.get(stream, 0) + len(chunk["text"])
            out = sys.stderr if stream == "stderr" else sys.stdout
            out.write(chunk["text"])
            out.flush()  # live: each chunk shows as it arrives


def _follow(http: httpx.Client, execution_id: str, sleep: Callable[[float], None]) -> _Follow:
    """Print the execution's output as it arrives; the terminal status update (with the result),
    read from the stream, or from the API when the stream keeps closing before the end."""
    seen = _Follow()
    for delay in (0.0, *RECONNECT_DELAYS):
        sleep(delay)
        headers = {"Last-Event-ID": seen.last_event_id} if seen.last_event_id else {}
        try:
            with http.stream(
                "GET", f"{API}/executions/{execution_id}/events", headers=headers
            ) as stream:
                for event, data, event_id in _sse_events(stream):
                    seen.take(execution_id, event, data, event_id)
                    if seen.ended:
                        break
        except httpx.TransportError:
            pass  # reopened from the last event, below
        if seen.ended:
            break
    if not seen.ended:
        # The stream ended without its terminal update every time: ask for the result.
        seen.last = http.get(f"{API}/executions/{execution_id}").json()
    return seen


def submit_and_follow(
    url: str,
    body: dict[str, Any],
    *,
    wait: bool,
    idempotency_key: str | None = None,
    token: str | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Returns the exit code for the CLI: the script's own when it ran, 1 otherwise."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    timeout = httpx.Timeout(30, read=None)
    with httpx.Client(base_url=url, headers=headers, timeout=timeout, transport=transport) as http:
        response = http.post(f"{API}/executions", json=body)
        if response.status_code != 202:
            raise SubmitFailedError(f"{response.status_code}: {_problem_detail(response)}")
        execution_id = response.json()["id"]
        click.echo(f"{execution_id} queued", err=True)
        if not wait:
            click.echo(execution_id)
            return 0
        seen = _follow(http, execution_id, sleep)
    return _print_result(seen.last, printed=seen.printed)


def _print_result(execution: dict[str, Any], *, printed: dict[str, int] | None = None) -> int:
    """Print the result: the output not printed live already (a live view can stop short, e.g.
    a pod gone before its log was followed), then a summary; returns the exit code."""
    result = execution.get("result") or {}
    for stream, out in (("stdout", sys.stdout), ("stderr", sys.stderr)):
        out.write(str(result.get(stream, ""))[(printed or {}).get(stream, 0) :])
    for stream in ("stdout", "stderr"):
        if result.get(f"{stream}_truncated"):
            click.secho(f"[{stream} truncated at the output limit]", fg="yellow", err=True)
    summary = (
        f"{execution['status']} ({result.get('end_reason')}) exit={result.get('exit_code')} "
        f"wall={result.get('wall_seconds', 0):.3f}s cpu={result.get('cpu_seconds', 0):.3f}s "
        f"peak_memory={result.get('peak_memory_bytes', 0) // 1024} KiB"
    )
    if result.get("message"):
        summary += f": {result['message']}"
    click.secho(summary, fg="green" if execution["status"] == "completed" else "red", err=True)
    exit_code = result.get("exit_code")
    if execution["status"] in ("completed", "failed") and isinstance(exit_code, int):
        return exit_code if exit_code >= 0 else 128 - exit_code
    return 1
