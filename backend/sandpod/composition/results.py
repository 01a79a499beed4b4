"""The result processor role: MongoDB (the single writer of status), Redis (live updates), Kafka."""

import asyncio

from sandpod.composition import connections
from sandpod.composition.opening import opening
from sandpod.composition.services import result_processor, retention_sweep
from sandpod.composition.worker import Worker, until_stopped
from sandpod.config import Settings
from sandpod.workers.results import run_results
from sandpod.workers.retention import run_retention


async def build_results(settings: Settings) -> Worker:
    async with opening("results", settings) as stack:
        store = await connections.mongo_store(settings, stack)
        redis = await connections.redis(settings, stack)
        bus = await connections.kafka(settings, stack)
    processor = result_processor(
        settings, store=store, live=redis.live_updates, bus=bus, republish=True
    )
    retention = retention_sweep(settings, store=store, idempotency=redis.idempotency)

    async def work(stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(
                until_stopped(
                    run_results(
                        bus,
                        processor,
                        sweep_interval_seconds=settings.workers.sweep_interval_seconds,
                    ),
                    stop,
                )
            )
            tasks.create_task(
                until_stopped(
                    run_retention(
                        retention,
                        interval_seconds=settings.workers.retention_sweep_interval_seconds,
                    ),
                    stop,
                )
            )

    return Worker("results", work, stack)
