"""The runner worker: consumes requested executions and runs them in sandboxes."""

import asyncio

from sandpod.domain.events import EventType
from sandpod.observability import instrumented
from sandpod.ports import EventBus
from sandpod.services.runner import RunnerService

RUNNER_GROUP = "runner"
CANCEL_GROUP = "runner-cancel"


async def run_runner(bus: EventBus, service: RunnerService, *, concurrency: int) -> None:
    """Run until cancelled: requests are shared by all runners; every runner sees cancels."""
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(
            bus.consume(
                RUNNER_GROUP,
                [EventType.REQUESTED],
                instrumented(RUNNER_GROUP, service.handle),
                concurrency=concurrency,
            )
        )
        tasks.create_task(
            bus.consume(
                CANCEL_GROUP,
                [EventType.CANCEL_REQUESTED],
                instrumented(RUNNER_GROUP, service.handle),
                concurrency=concurrency,
                broadcast=True,
            )
        )
