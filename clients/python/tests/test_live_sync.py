"""The sync client against the real embedded server (tests/server.py): scripts really run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandpod_client import (
    AuthenticationError,
    ConflictError,
    ExecutionStatus,
    NotFoundError,
    OutputEvent,
    PermissionDeniedError,
    RetryPolicy,
    Sandpod,
    Scope,
    StatusEvent,
    ValidationFailedError,
)
from tests.conftest import Account, register
from tests.server import embedded_server

pytestmark = pytest.mark.live

LINES = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.2)\n"


class Counting(httpx.HTTPTransport):
    """A real HTTP transport that records each request and the status of each answer."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.sent.append((request.method, request.url.path, response.status_code))
        return response


def signed_in(
    account: Account, transport: httpx.BaseTransport | None = None, **options: Any
) -> Sandpod:
    return Sandpod(
        account.url,
        username=account.username,
        password=account.password,
        transport=transport,
        **options,
    )


def test_run_returns_the_finished_execution_in_one_round_trip(account: Account) -> None:
    transport = Counting()
    with signed_in(account, transport) as client:
        execution = client.run("print('hello')", runtime="python:3.12", wait=15)
    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.stdout == "hello\n"
    assert execution.exit_code == 0
    assert transport.sent[1:] == [("POST", "/api/v1/executions", 200)]  # after the sign-in


def test_run_follows_the_stream_when_the_wait_is_shorter_than_the_script(
    client: Sandpod,
) -> None:
    execution = client.run("import time\ntime.sleep(1.5)\nprint('late')", wait=0.2)
    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.stdout == "late\n"


def test_stream_yields_typed_events_up_to_the_terminal_one(client: Sandpod) -> None:
    submitted = client.executions.submit(LINES)
    events = list(client.executions.stream(submitted.id))
    statuses = [event for event in events if isinstance(event, StatusEvent)]
    outputs = [event for event in events if isinstance(event, OutputEvent)]
    assert statuses[-1].terminal
    assert statuses[-1].status is ExecutionStatus.COMPLETED
    assert statuses[-1].result is not None
    assert statuses[-1].result.stdout == "0\n1\n2\n"
    assert all(event.id for event in events)
    assert not any(event.terminal for event in statuses[:-1])
    # With live output (the `output` events of the SSE contract) the chunks are numbered from 1
    # without gaps and add up to the stdout; a server that streams status only sends none.
    stdout = [event for event in outputs if event.stream == "stdout"]
    assert [event.seq for event in outputs] == list(range(1, len(outputs) + 1))
    if stdout:
        assert "".join(event.text for event in stdout) == "0\n1\n2\n"


def test_the_same_idempotency_key_returns_the_same_execution(client: Sandpod) -> None:
    first = client.executions.submit("print(1)", idempotency_key="sdk-same-key")
    again = client.executions.submit("print(1)", idempotency_key="sdk-same-key")
    assert again.id == first.id


def test_errors_carry_the_servers_problem_details(client: Sandpod) -> None:
    with pytest.raises(ValidationFailedError) as raised:
        client.executions.submit("print(1)", runtime="cobol:85")
    assert raised.value.status == 422
    assert "cobol:85" in raised.value.detail
    with pytest.raises(ValidationFailedError) as too_much:
        client.executions.submit("print(1)", limits={"wall_seconds": 10_000})
    assert "wall_seconds" in too_much.value.detail
    with pytest.raises(NotFoundError) as missing:
        client.executions.get("no-such-execution")
    assert missing.value.title == "Not Found"
    assert missing.value.detail


def test_a_wrong_password_is_an_authentication_error(account: Account) -> None:
    with Sandpod(account.url) as client, pytest.raises(AuthenticationError) as raised:
        client.login(account.username, "not the password at all")
    assert raised.value.status == 401


def test_history_retry_delete_and_list_filters(client: Sandpod) -> None:
    first = client.run("print('again')")
    retried = client.executions.retry(first.id)
    assert retried.id != first.id
    assert retried.script == first.script
    assert client.executions.wait(retried.id).stdout == "again\n"
    listed = client.executions.list(runtime="python:3.12", status="completed", limit=100)
    assert {first.id, retried.id} <= {item.id for item in listed.items}
    assert client.executions.list(runtime="python:3.11").items == []
    client.executions.delete(first.id)
    with pytest.raises(NotFoundError):
        client.executions.get(first.id)


def test_a_running_execution_cannot_be_deleted_but_can_be_cancelled(client: Sandpod) -> None:
    running = client.executions.submit("import time\ntime.sleep(30)")
    with pytest.raises(ConflictError) as raised:
        client.executions.delete(running.id)
    assert raised.value.status == 409
    client.executions.cancel(running.id)
    assert client.executions.wait(running.id).status is ExecutionStatus.CANCELLED


def test_batch_accepts_the_good_items_and_names_the_problem_of_the_bad(client: Sandpod) -> None:
    outcomes = client.executions.batch(
        [
            {"runtime": "python:3.12", "script": "print('one')"},
            {"runtime": "nope:1", "script": "print('two')"},
        ]
    )
    good, bad = outcomes
    assert good.accepted
    assert good.execution is not None
    assert client.executions.wait(good.execution.id).stdout == "one\n"
    assert not bad.accepted
    assert bad.problem is not None
    assert bad.problem.status == 422
    assert "nope:1" in bad.problem.detail


def test_an_api_key_signs_in_and_its_scopes_hold(client: Sandpod, account: Account) -> None:
    reader = client.api_keys.create("sdk-reader", scopes=[Scope.EXECUTIONS_READ])
    assert reader.key.startswith(reader.prefix)
    assert reader.id in {key.id for key in client.api_keys.list()}
    with Sandpod(account.url, api_key=reader.key) as by_key:
        assert by_key.me().username == account.username
        with pytest.raises(PermissionDeniedError) as refused:
            by_key.executions.submit("print(1)")
        assert refused.value.status == 403
        client.api_keys.revoke(reader.id)
        with pytest.raises(AuthenticationError):
            by_key.me()


def test_another_users_execution_is_not_found(client: Sandpod, account: Account) -> None:
    mine = client.executions.submit("print(1)")
    with signed_in(register(account.url)) as other, pytest.raises(NotFoundError):
        other.executions.get(mine.id)


@pytest.fixture(scope="module")
def tight_server() -> Iterator[str]:
    # Two submissions per account per second: the third waits for the server's Retry-After.
    with embedded_server(
        SANDPOD_RATE_LIMIT_SUBMIT_PER_USER="2",
        SANDPOD_RATE_LIMIT_WINDOW_SECONDS="1",
        SANDPOD_RATE_LIMIT_AUTH_PER_IP="0",
    ) as server:
        yield server.url


def test_a_rate_limited_submit_is_retried_after_retry_after_and_runs_once(
    tight_server: str,
) -> None:
    transport = Counting()
    with signed_in(register(tight_server), transport, retry=RetryPolicy(max_retries=5)) as client:
        # Five: the window is fixed, so four could split 2 + 2 over a window's end (CI once
        # saw it); five in well under a second cannot all fit two windows of two.
        ids = [client.executions.submit(f"print({n})").id for n in range(5)]
        refused = [sent for sent in transport.sent if sent[2] == 429]
        assert refused, "the server never refused: the budget was not reached"
        assert len(set(ids)) == 5
        page = client.executions.list(limit=100)
    assert len(page.items) == 5  # every submit ran exactly once
