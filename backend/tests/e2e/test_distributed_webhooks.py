"""Webhooks across a crash: the webhook worker is SIGKILLed while its receiver holds the
deliveries open, or the result processor while the executions run, and every execution still
ends with exactly one verified delivery id."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.test_distributed import LOGS, Stack, running_stack, signed_in, wait_all_terminal
from tests.waiting import eventually
from tests.webhook_receiver import Receiver, receiving

pytestmark = pytest.mark.slow

EXECUTIONS = 6


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiving()


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with running_stack(
        request.node.name,
        ("api", "runner", "results", "webhooks"),
        SANDPOD_WEBHOOK_ALLOW='["127.0.0.1/32"]',
        # A try is taken for lost 2 x timeout + 5 s after it started: 11 s here.
        SANDPOD_WEBHOOK_TIMEOUT_SECONDS="3",
        SANDPOD_WEBHOOK_RETRY_BASE_SECONDS="0.5",
        SANDPOD_WEBHOOK_POLL_INTERVAL_SECONDS="0.5",
    ) as stack:
        yield stack


async def submit(
    client: httpx.AsyncClient, receiver: Receiver, index: int, script: str | None = None
) -> str:
    response = await client.post(
        "/api/v1/executions",
        json={
            "runtime": "python:3.12",
            "script": script or f"print({index})",
            "callback_url": receiver.url(f"/hold/{index}"),
        },
    )
    assert response.status_code == 202, response.text
    execution_id: str = response.json()["id"]
    return execution_id


async def test_killing_the_webhook_worker_mid_delivery_loses_no_callback_and_dedups(
    stack: Stack, receiver: Receiver
) -> None:
    async with signed_in(stack, ready_timeout=180) as client:
        secret = (await client.get("/api/v1/webhooks/secret")).json()["secret"]
        ids = list(await asyncio.gather(*(submit(client, receiver, i) for i in range(EXECUTIONS))))
        await wait_all_terminal(client, ids, stack)

        # The receiver holds every request it gets: wait until the worker is mid-delivery.
        async def in_flight() -> bool:
            assert not stack.crashed(), f"a process died: see {LOGS}"
            return len(receiver.received) >= 1

        await eventually(in_flight, timeout=60, interval=0.1, what="a delivery to start")
        stack.kill("webhooks")
        held = {item.execution_id for item in receiver.received}
        receiver.release.set()  # answer from now on (the held ones go to a dead socket)
        stack.start("webhooks")

        states: dict[str, dict[str, object]] = {}

        async def all_delivered() -> bool:
            assert not stack.crashed(), f"a process died: see {LOGS}"
            for execution_id in ids:
                body = (await client.get(f"/api/v1/executions/{execution_id}")).json()
                states[execution_id] = body["webhook"]
            return all(hook["state"] == "delivered" for hook in states.values())

        await eventually(all_delivered, timeout=120, interval=0.5, what="every webhook")

    for execution_id in ids:
        tries = receiver.of(execution_id)
        assert tries, f"{execution_id} was never delivered"
        assert all(item.verified(secret) for item in tries)
        # What a receiver that deduplicates by Sandpod-Delivery keeps: exactly one delivery.
        assert {item.delivery_id for item in tries} == {states[execution_id]["delivery_id"]}
    # The deliveries the dead worker had under way were made again, under the same id.
    assert held
    assert all(len(receiver.of(execution_id)) >= 2 for execution_id in held), {
        execution_id: len(receiver.of(execution_id)) for execution_id in held
    }


async def test_killing_the_result_processor_mid_way_loses_no_callback(
    stack: Stack, receiver: Receiver
) -> None:
    receiver.release.set()  # the receiver answers at once
    slow = "import time\ntime.sleep(2)\nprint('done')\n"  # still running when the kill comes
    async with signed_in(stack, ready_timeout=180) as client:
        secret = (await client.get("/api/v1/webhooks/secret")).json()["secret"]
        ids = list(
            await asyncio.gather(*(submit(client, receiver, i, slow) for i in range(EXECUTIONS)))
        )

        async def running() -> bool:
            statuses = [
                (await client.get(f"/api/v1/executions/{execution_id}")).json()["status"]
                for execution_id in ids
            ]
            return "running" in statuses

        await eventually(running, timeout=120, interval=0.1, what="an execution to run")
        stack.kill("results")
        # Away for longer than the scripts run, so their ends reach the bus while nobody
        # applies them (a shorter outage only makes the test weaker, never wrong).
        await asyncio.sleep(3)
        stack.start("results")
        finished = await wait_all_terminal(client, ids, stack)

        async def all_delivered() -> bool:
            assert not stack.crashed(), f"a process died: see {LOGS}"
            hooks = [
                (await client.get(f"/api/v1/executions/{execution_id}")).json()["webhook"]
                for execution_id in ids
            ]
            return all(hook["state"] == "delivered" for hook in hooks)

        await eventually(all_delivered, timeout=120, interval=0.5, what="every webhook")

    for execution_id in ids:
        assert finished[execution_id]["status"] == "completed", finished[execution_id]
        tries = receiver.of(execution_id)
        assert len({item.delivery_id for item in tries}) == 1, tries
        assert all(item.verified(secret) for item in tries)
        assert tries[-1].json()["status"] == "completed"  # the end it reports is the stored one
