"""The webhook worker: delivers callbacks when executions end, and retries the due ones."""

import asyncio
import logging

from sandpod.domain.events import EventType
from sandpod.observability import instrumented
from sandpod.ports import EventBus, ServiceUnavailableError
from sandpod.services.webhooks import WebhookDispatcher

log = logging.getLogger(__name__)

WEBHOOKS_GROUP = "webhooks"
# An end arrives as `finished`; a queued execution's cancel ends it without one.
WEBHOOK_EVENTS = [EventType.FINISHED, EventType.CANCEL_REQUESTED]


async def run_webhooks(
    bus: EventBus, dispatcher: WebhookDispatcher, *, poll_interval_seconds: float
) -> None:
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(
            bus.consume(
                WEBHOOKS_GROUP,
                WEBHOOK_EVENTS,
                instrumented(WEBHOOKS_GROUP, dispatcher.handle),
                concurrency=8,
            )
        )
        tasks.create_task(_deliver_due_forever(dispatcher, poll_interval_seconds))


async def _deliver_due_forever(dispatcher: WebhookDispatcher, interval: float) -> None:
    """Retries after their backoff, tries a dead worker left, and ends no event announced
    (the timeout sweep's): all are found on the executions, so none depends on a message."""
    while True:
        try:
            await dispatcher.deliver_due()
        except ServiceUnavailableError as error:  # an outage: no stack trace, try again later
            log.warning("webhook retries skipped: %s; retrying next interval", error)
        except Exception:
            log.exception("webhook retries failed; retrying next interval")
        await asyncio.sleep(interval)  # the look for due deliveries is periodic by design
