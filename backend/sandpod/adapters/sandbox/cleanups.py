"""Cleanups that finish after the result is out: nobody waits for a folder to be deleted.

A sandbox's processes are gone before its result is returned; what is left (its cgroups, its
tmpfs and folder, a few descriptors) is removed here in the background. The runner's close()
waits for all of them, so a stopped runner leaves nothing behind.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 30.0  # each cleanup bounds its own waits; this only keeps close() finite
# A cleanup nobody waits for starts this much later: its system calls (rmdir of cgroups, a
# tmpfs unmounted and a folder removed in a thread that takes the GIL) would otherwise run
# while the result it follows is reported, a few loop turns that take ~1-2 ms (measured: a
# warm run-and-wait 25 % faster). The sandbox's processes are already dead by then.
DELAY_SECONDS = 0.02


async def _after(delay: float, cleanup: Callable[[], Coroutine[Any, Any, None]]) -> None:
    await asyncio.sleep(delay)
    await cleanup()


class Cleanups:
    def __init__(self) -> None:
        self._pending: set[asyncio.Task[None]] = set()
        # What must happen even if its task never ran: a loop that ended (a server thread
        # stopped) cancels its tasks, and a folder whose removal was cancelled would stay.
        self._fallbacks: dict[asyncio.Task[None], Callable[[], None]] = {}

    def later(
        self,
        cleanup: Callable[[], Coroutine[Any, Any, None]],
        *,
        fallback: Callable[[], None] | None = None,
        awaited: bool = False,
    ) -> asyncio.Task[None]:
        """Run `cleanup()` in the background (DELAY_SECONDS from now, unless the caller waits
        for it: `awaited`; made only then, so a cleanup cancelled in its delay leaves no
        coroutine never awaited); kept referenced until it is done. `fallback` (synchronous,
        idempotent) is run by finish_abandoned() if the task does not succeed."""
        task = asyncio.create_task(cleanup() if awaited else _after(DELAY_SECONDS, cleanup))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        if fallback is not None:
            self._fallbacks[task] = fallback
            task.add_done_callback(self._forget_if_done)
        return task

    def _forget_if_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is None:
            del self._fallbacks[task]

    def finish_abandoned(self) -> None:
        """Run here and now the fallbacks of cleanups that were cancelled or failed, or whose
        event loop is closed: what the runner's close() must not leave behind."""
        for task, fallback in list(self._fallbacks.items()):
            if task.done() or task.get_loop().is_closed():
                del self._fallbacks[task]
                try:
                    fallback()
                except Exception:
                    logger.exception("a sandbox cleanup's fallback failed")

    async def settle(self) -> None:
        """Wait for every cleanup started so far on this event loop (and those they start)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        # Only tasks not yet done: a done one leaves the set in a callback still to run.
        while waiting := [
            task for task in self._pending if task.get_loop() is loop and not task.done()
        ]:
            # wait(), not gather(): a cleanup that failed has logged why; nothing to raise here.
            _, late = await asyncio.wait(waiting, timeout=max(0.0, deadline - loop.time()))
            if late:
                logger.warning(
                    "%d sandbox cleanups still running after %.0f s", len(late), SETTLE_SECONDS
                )
                return
