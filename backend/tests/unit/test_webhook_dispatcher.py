"""The dispatcher's rules, with a scripted resolver and a recording sender."""

import asyncio
import ipaddress
from collections.abc import Sequence
from datetime import timedelta

from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.adapters.memory.users import InMemoryUserStore
from sandpod.domain.callback_urls import CallbackPolicy, IPAddress
from sandpod.domain.events import ExecutionFinished
from sandpod.domain.execution import Execution, ExecutionSpec, utcnow
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason, Result
from sandpod.domain.status import ExecutionStatus
from sandpod.domain.webhook_signatures import verify_signature
from sandpod.domain.webhooks import RetryPolicy, WebhookDelivery, WebhookState
from sandpod.services.webhooks import (
    CallbackGuard,
    WebhookDispatcher,
    WebhookSecrets,
)

URL = "https://hooks.example.com/x"
PUBLIC = ipaddress.ip_address("93.184.216.34")
RESULT = Result(end_reason=EndReason.COMPLETED, exit_code=0, stdout="hi\n")


class ScriptedResolver:
    def __init__(self, *answers: Sequence[IPAddress]) -> None:
        self.answers = list(answers)

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class RecordingSender:
    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.sent: list[tuple[str, IPAddress, bytes, dict[str, str]]] = []
        self.gate = gate

    async def post(
        self, url: str, address: IPAddress, body: bytes, headers: dict[str, str]
    ) -> None:
        self.sent.append((url, address, body, headers))
        if self.gate is not None:
            await self.gate.wait()


async def finished_execution(store: InMemoryExecutionStore) -> Execution:
    spec = ExecutionSpec(
        runtime="python:3.12", script="print(1)", limits=DEFAULT_POLICY.defaults, callback_url=URL
    )
    execution = Execution(owner="usr_a", spec=spec, webhook=WebhookDelivery(url=URL))
    await store.add(execution)
    await store.transition(execution.id, ExecutionStatus.RUNNING, at=utcnow())
    done = await store.transition(
        execution.id, ExecutionStatus.COMPLETED, at=utcnow(), result=RESULT
    )
    assert done is not None
    return done


def dispatcher(
    store: InMemoryExecutionStore,
    users: InMemoryUserStore,
    resolver: ScriptedResolver,
    sender: RecordingSender,
) -> WebhookDispatcher:
    return WebhookDispatcher(
        store=store,
        secrets=WebhookSecrets(users),
        guard=CallbackGuard(CallbackPolicy(), resolver),
        sender=sender,
        retry=RetryPolicy(3, timedelta(seconds=60), timedelta(seconds=60)),
        lease=timedelta(seconds=30),
        render=lambda execution: execution.model_dump_json().encode(),
    )


async def test_a_name_that_now_resolves_inward_fails_the_try_without_a_request() -> None:
    store, users, sender = InMemoryExecutionStore(), InMemoryUserStore(), RecordingSender()
    execution = await finished_execution(store)
    # Public when it was submitted; loopback now (DNS rebinding).
    resolver = ScriptedResolver([ipaddress.ip_address("127.0.0.1")])
    after = await dispatcher(store, users, resolver, sender).attempt(execution)
    assert after is not None
    assert after.state is WebhookState.PENDING
    assert after.attempts == 1
    assert "loopback" in (after.last_error or "")
    assert sender.sent == []


async def test_the_request_goes_to_the_checked_address_signed() -> None:
    store, users, sender = InMemoryExecutionStore(), InMemoryUserStore(), RecordingSender()
    execution = await finished_execution(store)
    await dispatcher(store, users, ScriptedResolver([PUBLIC]), sender).handle(
        ExecutionFinished(execution_id=execution.id, result=RESULT)
    )
    [(url, address, body, headers)] = sender.sent
    assert (url, address) == (URL, PUBLIC)
    verify_signature(await WebhookSecrets(users).get("usr_a"), headers["Sandpod-Signature"], body)
    stored = await store.get(execution.id)
    assert stored is not None
    assert stored.webhook is not None
    assert stored.webhook.state is WebhookState.DELIVERED


async def test_one_try_is_made_once_however_many_paths_reach_it() -> None:
    store, users = InMemoryExecutionStore(), InMemoryUserStore()
    gate = asyncio.Event()
    sender = RecordingSender(gate)
    execution = await finished_execution(store)
    first = dispatcher(store, users, ScriptedResolver([PUBLIC]), sender)
    other = dispatcher(store, users, ScriptedResolver([PUBLIC]), sender)  # another worker
    trying = asyncio.create_task(first.attempt(execution))
    looking = asyncio.create_task(first.deliver_due())
    rival = asyncio.create_task(other.attempt(execution))  # with the same (now stale) read
    await asyncio.sleep(0)  # let all three start before the receiver answers
    gate.set()
    delivered = await trying
    assert delivered is not None
    assert delivered.state is WebhookState.DELIVERED
    assert await looking == 0
    assert await rival is None
    assert len(sender.sent) == 1
