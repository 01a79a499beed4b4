"""The runner worker: consumes requested executions and runs them in sandboxes."""

import asyncio
from collections.abc import Awaitable, Callable

from sandpod.domain.events import Event, EventType
from sandpod.observability import instrumented
from sandpod.ports import EventBus
from sandpod.services.runner import RunnerService

RUNNER_GROUP = "runner"
CANCEL_GROUP = "runner-cancel"


async def run_runner(
    bus: EventBus,
    service: RunnerService,
    *,
    concurrency: int,
    gate: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run until cancelled: requests are shared by all runners; every runner sees cancels.

    `gate` is awaited before each request is taken (the isolation guard): while it blocks, the
    request stays unacknowledged and no new one is taken.
    """

    async def take(event: Event) -> None:
        if gate is not None:
            await gate()
        await service.handle(event)

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(
            bus.consume(
                RUNNER_GROUP,
                [EventType.REQUESTED],
                instrumented(RUNNER_GROUP, take),
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
