"""The runner worker: consumes requested executions and runs them in sandboxes."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sandpod.domain.events import Event, EventType
from sandpod.observability import instrumented
from sandpod.ports import EventBus
from sandpod.services.runner import RunnerService

RUNNER_GROUP = "runner"
CANCEL_GROUP = "runner-cancel"

log = logging.getLogger(__name__)


async def run_runner(
    bus: EventBus,
    service: RunnerService,
    *,
    concurrency: int,
    gate: Callable[[], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
    stop_grace_seconds: float = 0,
) -> None:
    """Run until cancelled, or until `stop` is set and the running executions have ended (at
    most `stop_grace_seconds` later; then the rest are stopped). Requests are shared by all
    runners; every runner sees cancels.

    `gate` is awaited before each request is taken (the isolation guard): while it blocks, the
    request stays unacknowledged and no new one is taken. Once `stop` is set, a request that
    arrives is held the same way, so the bus gives it to another runner after this one ends.
    """
    stopping = stop or asyncio.Event()
    running = 0
    idle = asyncio.Event()
    idle.set()

    async def take(event: Event) -> None:
        nonlocal running
        if gate is not None:
            await gate()
        if stopping.is_set():
            await asyncio.Future()  # never acknowledged: cancelled when this runner ends
        running += 1
        idle.clear()
        try:
            await service.handle(event)
        finally:
            running -= 1
            if running == 0:
                idle.set()

    async def consume() -> None:
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

    consuming = asyncio.create_task(consume(), name="runner-consume")
    stopped = asyncio.create_task(stopping.wait(), name="runner-stop")
    try:
        await asyncio.wait({consuming, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if stopped.done() and not consuming.done():
            log.info("runner stopping: no new work", extra={"running": running})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(idle.wait()), stop_grace_seconds)
            if running:
                log.warning("stop grace over; stopping the rest", extra={"running": running})
    finally:
        for task in (consuming, stopped):
            task.cancel()
        await asyncio.gather(consuming, stopped, return_exceptions=True)
    if not consuming.cancelled():
        consuming.result()  # it ended by itself: a crash surfaces here
