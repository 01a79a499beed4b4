"""Retries, idempotency, sign-in and errors, against scripted answers (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from sandpod_client import (
    AsyncSandpod,
    ConflictError,
    ConnectionFailedError,
    RateLimitedError,
    RetryPolicy,
    Sandpod,
    ServerError,
    ValidationFailedError,
)
from sandpod_client.retries import retry_after

URL = "http://sandpod.test"
EXECUTION = {
    "id": "ex1",
    "status": "queued",
    "runtime": "python:3.12",
    "limits": {
        "wall_seconds": 10,
        "cpu_seconds": 5,
        "memory_mb": 128,
        "processes": 32,
        "output_bytes": 1048576,
        "file_size_mb": 16,
        "tmp_mb": 32,
    },
    "created_at": "2026-12-03T10:00:00Z",
    "started_at": None,
    "finished_at": None,
    "result": None,
    "script": "print(1)",
    "stdin": "",
}
FINISHED = {
    **EXECUTION,
    "status": "completed",
    "result": {"end_reason": "completed", "exit_code": 0, "stdout": "1\n"},
}


def problem(status: int, detail: str, **headers: str) -> httpx.Response:
    body = {"type": "about:blank", "title": "Some Title", "status": status, "detail": detail}
    return httpx.Response(
        status, json=body, headers={"content-type": "application/problem+json", **headers}
    )


Answer = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests in turn from a list, recording each request and each sleep."""

    def __init__(self, *answers: httpx.Response | Answer | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def client(self, **options: Any) -> Sandpod:
        client = Sandpod(URL, api_key="spk_test", transport=httpx.MockTransport(self), **options)
        client._sleep = self.sleeps.append
        return client


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDPOD_API_KEY", raising=False)
    monkeypatch.delenv("SANDPOD_URL", raising=False)


def test_a_429_is_retried_after_the_seconds_retry_after_names() -> None:
    script = Script(
        problem(429, "slow down", **{"Retry-After": "7"}), httpx.Response(200, json=EXECUTION)
    )
    execution = script.client().executions.get("ex1")
    assert execution.id == "ex1"
    assert script.sleeps == [7.0]
    assert len(script.requests) == 2


def test_retry_after_as_an_http_date_is_honoured() -> None:
    later = datetime.now(timezone.utc) + timedelta(seconds=20)
    response = httpx.Response(429, headers={"Retry-After": format_datetime(later, usegmt=True)})
    waited = retry_after(response)
    assert waited is not None
    assert 15 < waited <= 20


def test_a_long_retry_after_is_capped_by_the_policy() -> None:
    script = Script(
        problem(503, "busy", **{"Retry-After": "3600"}), httpx.Response(200, json=EXECUTION)
    )
    script.client(retry=RetryPolicy(max_delay=12)).executions.get("ex1")
    assert script.sleeps == [12]


def test_without_retry_after_the_backoff_grows() -> None:
    script = Script(
        problem(503, "busy"),
        problem(503, "busy"),
        problem(503, "busy"),
        httpx.Response(200, json=EXECUTION),
    )
    script.client(retry=RetryPolicy(max_retries=3, backoff=1, max_delay=100)).executions.get("ex1")
    assert len(script.sleeps) == 3
    assert 0.5 <= script.sleeps[0] <= 1
    assert 1 <= script.sleeps[1] <= 2
    assert 2 <= script.sleeps[2] <= 4


def test_retries_give_up_with_the_last_problem() -> None:
    script = Script(
        *(problem(429, "over the submit budget", **{"Retry-After": "1"}) for _ in range(3))
    )
    with pytest.raises(RateLimitedError) as raised:
        script.client(retry=RetryPolicy(max_retries=2)).executions.get("ex1")
    assert raised.value.status == 429
    assert raised.value.detail == "over the submit budget"
    assert len(script.requests) == 3


def test_a_retried_submit_sends_the_same_idempotency_key_every_time() -> None:
    script = Script(
        problem(503, "store unavailable"),
        httpx.ReadTimeout("lost answer"),
        httpx.Response(202, json=EXECUTION),
    )
    execution = script.client().executions.submit("print(1)")
    assert execution.id == "ex1"
    keys = {request.headers["Idempotency-Key"] for request in script.requests}
    assert len(script.requests) == 3
    assert len(keys) == 1
    assert next(iter(keys))


def test_each_submit_gets_its_own_idempotency_key_unless_given() -> None:
    script = Script(*(httpx.Response(202, json=EXECUTION) for _ in range(3)))
    client = script.client()
    client.executions.submit("print(1)")
    client.executions.submit("print(1)")
    client.executions.submit("print(1)", idempotency_key="mine")
    keys = [request.headers["Idempotency-Key"] for request in script.requests]
    assert keys[0] != keys[1]
    assert keys[2] == "mine"


def test_retry_is_not_repeated_after_a_503_since_it_may_have_run() -> None:
    script = Script(problem(503, "unavailable"), httpx.Response(202, json=EXECUTION))
    with pytest.raises(ServerError) as raised:
        script.client().executions.retry("ex1")
    assert raised.value.status == 503
    assert len(script.requests) == 1


def test_retry_is_repeated_after_a_429_since_nothing_ran() -> None:
    script = Script(
        problem(429, "slow", **{"Retry-After": "1"}), httpx.Response(202, json=EXECUTION)
    )
    assert script.client().executions.retry("ex1").id == "ex1"
    assert len(script.requests) == 2


def test_a_connect_error_is_retried_even_for_an_unsafe_call() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(202, json=EXECUTION))
    assert script.client().executions.retry("ex1").id == "ex1"


def test_no_answer_at_all_is_a_connection_error() -> None:
    script = Script(*(httpx.ConnectError("refused") for _ in range(4)))
    with pytest.raises(ConnectionFailedError, match=r"no answer from http://sandpod\.test"):
        script.client().executions.get("ex1")


def test_errors_carry_the_problem_details() -> None:
    body = {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "invalid request: runtime: unknown runtime",
        "errors": [{"field": "runtime", "message": "unknown runtime"}],
    }
    script = Script(
        httpx.Response(422, json=body, headers={"content-type": "application/problem+json"})
    )
    with pytest.raises(ValidationFailedError) as raised:
        script.client().executions.submit("x", runtime="cobol")
    error = raised.value
    assert (error.status, error.title) == (422, "Unprocessable Content")
    assert error.detail == "invalid request: runtime: unknown runtime"
    assert error.errors == [{"field": "runtime", "message": "unknown runtime"}]
    assert "unknown runtime" in str(error)


def test_an_answer_that_is_not_problem_json_still_becomes_an_error() -> None:
    script = Script(httpx.Response(409, text="busy elsewhere"))
    with pytest.raises(ConflictError) as raised:
        script.client().executions.cancel("ex1")
    assert raised.value.title == "Conflict"
    assert raised.value.detail == "busy elsewhere"


def test_the_api_key_is_sent_as_a_bearer_token() -> None:
    script = Script(httpx.Response(200, json=EXECUTION))
    script.client().executions.get("ex1")
    assert script.requests[0].headers["Authorization"] == "Bearer spk_test"


def test_the_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDPOD_API_KEY", "spk_from_env")
    monkeypatch.setenv("SANDPOD_URL", URL)
    script = Script(httpx.Response(200, json=EXECUTION))
    with Sandpod(transport=httpx.MockTransport(script)) as client:
        client.executions.get("ex1")
    assert script.requests[0].headers["Authorization"] == "Bearer spk_from_env"
    assert str(script.requests[0].url) == f"{URL}/api/v1/executions/ex1"


def token(value: str) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": value, "token_type": "bearer", "expires_in": 60}
    )


def test_a_password_client_signs_in_first_and_again_when_the_token_expires(no_env: None) -> None:
    script = Script(
        token("t1"),
        httpx.Response(200, json=EXECUTION),
        problem(401, "the access token expired"),
        token("t2"),
        httpx.Response(200, json=EXECUTION),
    )
    client = Sandpod(URL, username="ada", password="pw", transport=httpx.MockTransport(script))
    client.executions.get("ex1")
    client.executions.get("ex1")
    paths = [(request.method, request.url.path) for request in script.requests]
    assert paths == [
        ("POST", "/api/v1/auth/login"),
        ("GET", "/api/v1/executions/ex1"),
        ("GET", "/api/v1/executions/ex1"),
        ("POST", "/api/v1/auth/login"),
        ("GET", "/api/v1/executions/ex1"),
    ]
    assert json.loads(script.requests[0].content) == {"username": "ada", "password": "pw"}
    assert "Authorization" not in script.requests[0].headers
    assert script.requests[1].headers["Authorization"] == "Bearer t1"
    assert script.requests[4].headers["Authorization"] == "Bearer t2"


def test_credentials_that_do_not_go_together_are_refused(no_env: None) -> None:
    with pytest.raises(ValueError, match="not both"):
        Sandpod(URL, api_key="spk_x", username="ada", password="pw")
    with pytest.raises(ValueError, match="needs its password"):
        Sandpod(URL, username="ada")


def test_run_with_wait_is_one_round_trip_when_it_ends_in_time() -> None:
    script = Script(httpx.Response(200, json=FINISHED))
    execution = script.client(timeout=5).run("print(1)", wait=12)
    assert execution.stdout == "1\n"
    (request,) = script.requests
    assert request.url.params["wait"] == "12"
    # The read timeout covers the time the server holds the request on purpose.
    assert request.extensions["timeout"]["read"] == 17


def test_batch_gives_each_item_its_own_idempotency_key() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["items"]
        outcomes = [
            {"index": 0, "status": 202, "execution": EXECUTION},
            {
                "index": 1,
                "status": 422,
                "problem": {"title": "Unprocessable Content", "status": 422, "detail": "bad"},
            },
        ]
        assert len(items) == 2
        return httpx.Response(200, json={"items": outcomes})

    script = Script(answer)
    outcomes = script.client().executions.batch(
        [
            {"runtime": "python:3.12", "script": "print(1)"},
            {"runtime": "nope", "script": "x", "idempotency_key": "k2"},
        ]
    )
    sent = json.loads(script.requests[0].content)["items"]
    assert sent[0]["idempotency_key"]
    assert sent[1]["idempotency_key"] == "k2"
    assert outcomes[0].accepted
    assert outcomes[1].problem is not None
    assert outcomes[1].problem.detail == "bad"


def test_files_accepts_a_wrapped_list_or_a_bare_one() -> None:
    files = [{"name": "out/plot.png", "size": 3, "content_type": "image/png"}]
    script = Script(
        httpx.Response(200, json={"files": files, "truncated": True}),
        httpx.Response(200, json=[{**files[0], "truncated": True}]),
        httpx.Response(200, content=b"PNG", headers={"content-type": "image/png"}),
    )
    client = script.client()
    wrapped = client.executions.files("ex1")
    bare = client.executions.files("ex1")
    assert wrapped.truncated
    assert wrapped.files[0].name == "out/plot.png"
    assert bare.files[0].truncated
    assert client.executions.file("ex1", "out/plot.png") == b"PNG"
    assert script.requests[2].url.path == "/api/v1/executions/ex1/files/out/plot.png"


def test_the_webhook_secret_is_read_and_rotated() -> None:
    script = Script(
        httpx.Response(200, json={"secret": "whsec_1"}),
        httpx.Response(200, json={"secret": "whsec_2"}),
    )
    client = script.client()
    assert client.webhooks.secret() == "whsec_1"
    assert client.webhooks.rotate_secret() == "whsec_2"
    assert [(r.method, r.url.path) for r in script.requests] == [
        ("GET", "/api/v1/webhooks/secret"),
        ("POST", "/api/v1/webhooks/secret/rotate"),
    ]


async def test_the_async_client_retries_alike() -> None:
    script = Script(
        problem(429, "slow", **{"Retry-After": "2"}), httpx.Response(202, json=EXECUTION)
    )
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with AsyncSandpod(
        URL, api_key="spk_test", transport=httpx.MockTransport(script)
    ) as client:
        client._sleep = sleep
        execution = await client.executions.submit("print(1)")
    assert execution.id == "ex1"
    assert sleeps == [2.0]
    assert (
        script.requests[0].headers["Idempotency-Key"]
        == script.requests[1].headers["Idempotency-Key"]
    )
