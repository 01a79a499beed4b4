"""Waiting for a condition in tests: poll it until it holds or a deadline passes.

The one place tests poll. A test waits for what it needs (a record handled, a server answering),
never for a fixed time that is hoped to be long enough.
"""

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

Check = Callable[[], bool | Awaitable[bool]]


async def eventually(
    check: Check,
    *,
    timeout: float = 30,
    interval: float = 0.01,
    ignoring: tuple[type[Exception], ...] = (),
    what: str = "",
) -> None:
    """Wait until `check()` (sync or async) holds, or fail saying what did not happen.

    Exceptions of the `ignoring` types count as "not yet" (e.g. a server still restarting).
    """
    try:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    result = check()
                    if inspect.isawaitable(result):
                        result = await result
                    if result:
                        return
                except ignoring:
                    pass
                await asyncio.sleep(interval)  # poll interval, bounded by the timeout above
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what or check}") from None


def eventually_sync(
    check: Callable[[], bool],
    *,
    timeout: float = 30,
    interval: float = 0.01,
    ignoring: tuple[type[Exception], ...] = (),
    what: str = "",
) -> None:
    """`eventually` for code outside an event loop (threads, subprocess fixtures)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except ignoring:
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or check}")
        time.sleep(interval)  # poll interval, bounded by the deadline above
