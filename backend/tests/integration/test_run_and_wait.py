"""`POST /executions?wait=SECONDS` in both modes, with scripts run in the real local sandbox."""

from collections.abc import AsyncIterator

import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner
from tests.integration.stacks import EXECUTIONS, MODES, Stack, running

pytestmark = pytest.mark.slow

HELLO = {"runtime": "python:3.12", "script": "print('hello')"}
SLOW = {"runtime": "python:3.12", "script": "import time\ntime.sleep(3)\nprint('late')"}


@pytest.fixture(params=MODES)
async def stack(
    request: pytest.FixtureRequest, sandbox_runner: LocalSandboxRunner
) -> AsyncIterator[Stack]:
    async with running(request.param, sandbox_runner, api={"max_wait_seconds": 20}) as stack:
        yield stack


async def test_a_wait_long_enough_answers_200_with_the_result_in_one_round_trip(
    stack: Stack,
) -> None:
    response = await stack.http.post(
        EXECUTIONS, json=HELLO, params={"wait": 15}, headers=stack.headers["owner"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed"
    assert body["result"]["stdout"] == "hello\n"
    assert response.headers["location"] == f"/api/v1/executions/{body['id']}"


async def test_a_wait_too_short_answers_202_with_the_id_to_follow(stack: Stack) -> None:
    response = await stack.http.post(
        EXECUTIONS, json=SLOW, params={"wait": 0.5}, headers=stack.headers["owner"]
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] in ("queued", "running")
    finished = await stack.finished(body["id"])
    assert finished["result"]["stdout"] == "late\n"


async def test_without_wait_the_answer_is_202_as_before(stack: Stack) -> None:
    response = await stack.http.post(EXECUTIONS, json=HELLO, headers=stack.headers["owner"])
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"


@pytest.mark.parametrize("wait", ["-1", "abc", "86401"])
async def test_a_bad_wait_is_a_clear_422(stack: Stack, wait: str) -> None:
    response = await stack.http.post(
        EXECUTIONS, json=HELLO, params={"wait": wait}, headers=stack.headers["owner"]
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "wait" in response.json()["detail"]


async def test_a_replayed_idempotency_key_waits_for_the_same_execution(stack: Stack) -> None:
    headers = {**stack.headers["owner"], "Idempotency-Key": "wait-replay"}
    first = await stack.http.post(EXECUTIONS, json=HELLO, headers=headers)
    again = await stack.http.post(EXECUTIONS, json=HELLO, params={"wait": 15}, headers=headers)
    assert first.status_code == 202
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
