"""Webhooks: each user's signing secret, the SSRF guard, and the delivery of callbacks.

A delivery is tried when the execution's end reaches the webhook worker over the event bus and
again, after a backoff, by the worker's look for due deliveries. Each try is first claimed on the
execution (attempts + 1, with a lease), so a worker that dies mid-try leaves a try that becomes
due when its lease ends: nothing is lost, and a receiver may see one delivery id twice.
"""

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from sandpod.domain.callback_urls import (
    CallbackPolicy,
    CallbackRefusedError,
    CallbackTarget,
    IPAddress,
    parse_callback_url,
)
from sandpod.domain.events import Event
from sandpod.domain.execution import Execution, utcnow
from sandpod.domain.webhook_signatures import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    sign,
)
from sandpod.domain.webhooks import FINISHED_EVENT, RetryPolicy, WebhookDelivery
from sandpod.ports import (
    AddressResolver,
    DeliveryFailedError,
    ExecutionStore,
    UserStore,
    WebhookSender,
)

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 - a label that tells the secret apart, not a secret
# How long a handler waits for the result processor to store the end its event announced.
SETTLE_SECONDS = 10.0
SETTLE_POLL_SECONDS = 0.2


def new_webhook_secret() -> str:
    return SECRET_PREFIX + secrets.token_hex(32)


class WebhookSecrets:
    """Each user's signing secret, made on first use; rotation replaces it at once."""

    def __init__(self, users: UserStore) -> None:
        self._users = users

    async def get(self, owner: str) -> str:
        return await self._users.ensure_webhook_secret(owner, new_webhook_secret())

    async def rotate(self, owner: str) -> str:
        secret = new_webhook_secret()
        await self._users.set_webhook_secret(owner, secret)
        return secret


class CallbackGuard:
    """Checks a callback URL against the SSRF rule, resolving its host now."""

    def __init__(self, policy: CallbackPolicy, resolver: AddressResolver) -> None:
        self._policy = policy
        self._resolver = resolver

    async def check(self, url: str) -> tuple[CallbackTarget, list[IPAddress]]:
        """The URL's target and the addresses it may be reached at; CallbackRefusedError."""
        target = parse_callback_url(url)
        addresses = list(await self._resolver.resolve(target.host, target.port))
        self._policy.check(target, addresses)
        return target, addresses


Render = Callable[[Execution], bytes]


class WebhookDispatcher:
    def __init__(
        self,
        *,
        store: ExecutionStore,
        secrets: WebhookSecrets,
        guard: CallbackGuard,
        sender: WebhookSender,
        retry: RetryPolicy,
        lease: timedelta,
        render: Render,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._guard = guard
        self._sender = sender
        self._retry = retry
        self._lease = lease
        self._render = render
        self._settle_seconds = settle_seconds
        # Executions this process is trying now: its event handler and its look for due
        # deliveries must not race for one try (the store's condition settles it between
        # processes, and on FerretDB v1 not always: then the receiver sees the id twice).
        self._in_flight: set[str] = set()

    async def handle(self, event: Event) -> None:
        """An execution's end (or cancel) came over the bus: try its delivery once."""
        execution = await self._store.get(event.execution_id)
        if execution is None or execution.webhook is None:
            return
        # The result processor (another consumer) stores the end; give it a moment. If it takes
        # longer, the look for due deliveries finds the execution once it has ended.
        try:
            async with asyncio.timeout(self._settle_seconds):
                while not execution.status.is_terminal:
                    await asyncio.sleep(SETTLE_POLL_SECONDS)
                    found = await self._store.get(event.execution_id)
                    if found is None:
                        return
                    execution = found
        except TimeoutError:
            return  # still running (a cancel its runner has yet to act on): its end comes later
        await self.attempt(execution)

    async def deliver_due(self, *, limit: int = 100, concurrency: int = 8) -> int:
        """Try every delivery that is due now, a few at once (one slow receiver must not hold
        up the rest); how many were tried."""
        slots = asyncio.Semaphore(concurrency)

        async def one(execution: Execution) -> bool:
            async with slots:
                return await self.attempt(execution) is not None

        due = await self._store.list_webhooks_due(at=utcnow(), limit=limit)
        async with asyncio.TaskGroup() as tasks:
            tries = [tasks.create_task(one(execution)) for execution in due]
        return sum(task.result() for task in tries)

    async def attempt(self, execution: Execution) -> WebhookDelivery | None:
        """Make one try if it is due and this worker claims it; the delivery after it."""
        if execution.id in self._in_flight:
            return None
        self._in_flight.add(execution.id)
        try:
            return await self._attempt(execution)
        finally:
            self._in_flight.discard(execution.id)

    async def _attempt(self, execution: Execution) -> WebhookDelivery | None:
        hook = execution.webhook
        now = utcnow()
        if hook is None or not execution.status.is_terminal or not hook.is_due(now):
            return None
        claimed = hook.claimed(now, self._lease)
        if not await self._store.update_webhook(execution.id, claimed, if_attempts=hook.attempts):
            return None  # another worker took this try
        try:
            await self._send(execution.model_copy(update={"webhook": claimed}), claimed)
        except (DeliveryFailedError, CallbackRefusedError) as error:
            after = claimed.failed(str(error), utcnow(), self._retry)
            log.warning(
                "webhook try failed",
                extra={
                    "execution_id": execution.id,
                    "attempt": claimed.attempts,
                    "state": str(after.state),
                    "error": str(error),
                },
            )
        else:
            after = claimed.succeeded(utcnow())
            log.info("webhook delivered", extra={"execution_id": execution.id})
        await self._store.update_webhook(execution.id, after, if_attempts=claimed.attempts)
        return after

    async def _send(self, execution: Execution, hook: WebhookDelivery) -> None:
        # Checked again now: the name may resolve elsewhere than at submit (DNS rebinding), and
        # the request goes to the address checked here, not to a second lookup's answer.
        _, addresses = await self._guard.check(hook.url)
        body = self._render(execution)
        secret = await self._secrets.get(execution.owner)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body),
            DELIVERY_HEADER: hook.delivery_id,
            EVENT_HEADER: FINISHED_EVENT,
        }
        await self._sender.post(hook.url, addresses[0], body, headers)
