"""Webhooks in both modes, with scripts run in the real local sandbox and a real receiver on
127.0.0.1 (let through by the allow-list, as an operator would allow an internal receiver)."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.domain.webhook_signatures import EVENT_HEADER
from tests.integration.stacks import API, EXECUTIONS, MODES, Stack, running
from tests.waiting import eventually
from tests.webhook_receiver import Receiver, receiving

pytestmark = pytest.mark.slow

HELLO = {"runtime": "python:3.12", "script": "print('hello')"}
ATTEMPTS = 3


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiving()


@pytest.fixture(params=MODES)
async def stack(
    request: pytest.FixtureRequest, sandbox_runner: LocalSandboxRunner
) -> AsyncIterator[Stack]:
    webhooks = {
        "allow": ["127.0.0.1/32"],
        "max_attempts": ATTEMPTS,
        "retry_base_seconds": 0.1,
        "retry_max_seconds": 0.2,
        "poll_interval_seconds": 0.1,
        "timeout_seconds": 5,
    }
    async with running(request.param, sandbox_runner, webhooks=webhooks) as stack:
        yield stack


async def secret_of(stack: Stack, who: str = "owner") -> str:
    response = await stack.http.get(f"{API}/webhooks/secret", headers=stack.headers[who])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    secret: str = response.json()["secret"]
    return secret


async def webhook_settled(stack: Stack, execution_id: str) -> dict[str, Any]:
    """The execution once its delivery is delivered or dead-lettered."""
    seen: dict[str, Any] = {}

    async def settled() -> bool:
        response = await stack.http.get(
            f"{EXECUTIONS}/{execution_id}", headers=stack.headers["owner"]
        )
        seen.update(response.json())
        return seen["webhook"]["state"] in ("delivered", "dead_lettered")

    await eventually(settled, timeout=60, interval=0.1, what=f"{execution_id}'s webhook")
    return seen


async def test_an_ended_execution_is_posted_once_signed_with_its_owners_secret(
    stack: Stack, receiver: Receiver
) -> None:
    url = receiver.url("/ok/hooks")
    execution_id = await stack.submit({**HELLO, "callback_url": url})
    execution = await webhook_settled(stack, execution_id)
    hook = execution["webhook"]
    assert (hook["state"], hook["attempts"], hook["url"], hook["last_error"]) == (
        "delivered",
        1,
        url,
        None,
    )
    [delivery] = receiver.of(execution_id)
    secret = await secret_of(stack)
    assert delivery.verified(secret)
    assert not delivery.verified(await secret_of(stack, "other"))  # another user's secret
    assert delivery.delivery_id == hook["delivery_id"]
    assert delivery.headers[EVENT_HEADER] == "execution.finished"
    assert delivery.headers["Content-Type"] == "application/json"
    body = delivery.json()
    assert body["status"] == "completed"
    assert body["result"]["stdout"] == "hello\n"
    assert {key: body[key] for key in execution if key != "webhook"} == {
        key: value for key, value in execution.items() if key != "webhook"
    }
    tampered = type(delivery)(
        delivery.path, delivery.headers, delivery.body.replace(b"hello", b"HELLO")
    )
    assert not tampered.verified(secret)


async def test_a_failing_receiver_is_retried_then_dead_lettered_on_the_execution(
    stack: Stack, receiver: Receiver
) -> None:
    execution_id = await stack.submit({**HELLO, "callback_url": receiver.url("/fail")})
    hook = (await webhook_settled(stack, execution_id))["webhook"]
    assert hook["state"] == "dead_lettered"
    assert hook["attempts"] == ATTEMPTS
    assert "answered 500" in hook["last_error"]
    tries = receiver.of(execution_id)
    assert len(tries) == ATTEMPTS
    assert {item.delivery_id for item in tries} == {hook["delivery_id"]}  # one id, every retry


async def test_a_redirect_is_not_followed(stack: Stack, receiver: Receiver) -> None:
    execution_id = await stack.submit({**HELLO, "callback_url": receiver.url("/redirect")})
    hook = (await webhook_settled(stack, execution_id))["webhook"]
    assert hook["state"] == "dead_lettered"
    assert "answered 302" in hook["last_error"]
    assert {item.path for item in receiver.of(execution_id)} == {"/redirect"}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.2:9/", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://10.0.0.1/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://[fd00::1]/hook", "unique-local"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://224.0.0.1/hook", "multicast"),
        ("ftp://example.com/hook", "http:// or https://"),
        ("not a url", "http:// or https://"),
        ("http://name.invalid/hook", "does not resolve"),
    ],
)
async def test_callbacks_that_reach_inward_are_refused_with_a_422(
    stack: Stack, url: str, why: str
) -> None:
    response = await stack.http.post(
        EXECUTIONS, json={**HELLO, "callback_url": url}, headers=stack.headers["owner"]
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert why in problem["detail"]
    assert problem["errors"][0]["field"] == "callback_url"
    listed = await stack.http.get(EXECUTIONS, headers=stack.headers["owner"])
    assert listed.json()["items"] == []  # nothing was stored


async def test_batch_items_and_retries_keep_their_callback(
    stack: Stack, receiver: Receiver
) -> None:
    good = {**HELLO, "callback_url": receiver.url("/ok/batch")}
    bad = {**HELLO, "callback_url": "http://10.1.1.1/"}
    response = await stack.http.post(
        f"{EXECUTIONS}/batch", json={"items": [good, bad]}, headers=stack.headers["owner"]
    )
    assert response.status_code == 200, response.text
    first, refused = response.json()["items"]
    assert first["status"] == 202
    assert refused["status"] == 422
    assert (
        refused["problem"]["errors"][0]["field"] == "items.1.callback_url"
    )  # the item it is about
    original = first["execution"]["id"]
    await webhook_settled(stack, original)
    again = await stack.http.post(f"{EXECUTIONS}/{original}/retry", headers=stack.headers["owner"])
    assert again.status_code == 202, again.text
    copy = again.json()
    assert copy["webhook"]["url"] == good["callback_url"]
    assert copy["webhook"]["delivery_id"] != first["execution"]["webhook"]["delivery_id"]
    await webhook_settled(stack, copy["id"])
    assert len(receiver.of(original)) == len(receiver.of(copy["id"])) == 1


async def test_a_rotated_secret_signs_the_deliveries_after_it(
    stack: Stack, receiver: Receiver
) -> None:
    old = await secret_of(stack)
    assert await secret_of(stack) == old  # made once, then the same
    rotated = await stack.http.post(f"{API}/webhooks/secret/rotate", headers=stack.headers["owner"])
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert await secret_of(stack) == new
    execution_id = await stack.submit({**HELLO, "callback_url": receiver.url("/ok")})
    await webhook_settled(stack, execution_id)
    [delivery] = receiver.of(execution_id)
    assert delivery.verified(new)
    assert not delivery.verified(old)


async def test_an_execution_without_a_callback_has_no_webhook(stack: Stack) -> None:
    execution = await stack.finished(await stack.submit(HELLO))
    assert execution["webhook"] is None
