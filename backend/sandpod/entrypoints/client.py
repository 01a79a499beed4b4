"""A small HTTP client for the CLI: submit, follow the SSE stream, print the result."""

import json
import sys
from collections.abc import Iterator
from typing import Any

import click
import httpx

API = "/api/v1"
TERMINAL = frozenset({"completed", "failed", "timed_out", "cancelled", "errored"})


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


def _sse_events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    event, data = "message", list[str]()
    for line in response.iter_lines():
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue  # heartbeat
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def submit_and_follow(
    url: str,
    body: dict[str, Any],
    *,
    wait: bool,
    idempotency_key: str | None = None,
    token: str | None = None,
    transport: httpx.BaseTransport | None = None,
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
        last: dict[str, Any] = {}
        with http.stream("GET", f"{API}/executions/{execution_id}/events") as stream:
            for event, data in _sse_events(stream):
                if event == "status":
                    last = json.loads(data)
                    click.echo(f"{execution_id} {last['status']}", err=True)
        if last.get("status") not in TERMINAL or last.get("result") is None:
            # The stream ended without its terminal update (cut short): ask for the result.
            last = http.get(f"{API}/executions/{execution_id}").json()
    return _print_result(last)


def _print_result(execution: dict[str, Any]) -> int:
    result = execution.get("result") or {}
    sys.stdout.write(result.get("stdout", ""))
    sys.stderr.write(result.get("stderr", ""))
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
