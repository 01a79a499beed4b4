"""A worker process: its work and what it opened."""

import asyncio
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

# Runs until `stop` is set (then ends by itself) or the task is cancelled.
Work = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class Worker:
    name: str
    work: Work
    resources: AsyncExitStack

    async def aclose(self) -> None:
        await self.resources.aclose()


async def until_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
    """Run `work` until it ends or `stop` is set (then cancel it), whichever comes first."""
    task = asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        task.cancel()
        await asyncio.gather(task, stopping, return_exceptions=True)
    if not task.cancelled():
        task.result()  # it ended by itself: a crash surfaces here
