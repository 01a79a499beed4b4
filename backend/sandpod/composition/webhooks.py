"""The webhook role: MongoDB (executions, secrets), Kafka (the lifecycle topic), outbound HTTP."""

import asyncio

from sandpod.composition import connections
from sandpod.composition.opening import opening
from sandpod.composition.services import webhook_dispatcher, webhook_sender
from sandpod.composition.worker import Worker, until_stopped
from sandpod.config import Settings
from sandpod.workers.webhooks import run_webhooks


async def build_webhooks(settings: Settings) -> Worker:
    async with opening("webhooks", settings) as stack:
        mongo = await connections.mongo_stores(settings, stack)
        bus = await connections.kafka(settings, stack)
        sender = webhook_sender(settings)
        stack.push_async_callback(sender.aclose)
    dispatcher = webhook_dispatcher(
        settings, store=mongo.executions, users=mongo.users, sender=sender
    )

    async def work(stop: asyncio.Event) -> None:
        await until_stopped(
            run_webhooks(
                bus, dispatcher, poll_interval_seconds=settings.webhooks.poll_interval_seconds
            ),
            stop,
        )

    return Worker("webhooks", work, stack)
