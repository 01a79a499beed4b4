"""Background cleanups of the local runner (cleanups.py)."""

import asyncio

from sandpod.adapters.sandbox.cleanups import Cleanups


async def test_settle_waits_for_cleanups_and_those_they_start() -> None:
    cleanups = Cleanups()
    done: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0.01)
        done.append("second")

    async def first() -> None:
        await asyncio.sleep(0.01)
        cleanups.later(second)
        done.append("first")

    cleanups.later(first)
    await cleanups.settle()
    assert done == ["first", "second"]


def test_a_cleanup_left_on_a_closed_loop_does_not_block_another_loop() -> None:
    cleanups = Cleanups()

    async def leave_one_pending() -> None:
        cleanups.later(lambda: asyncio.sleep(3600))

    stale = asyncio.new_event_loop()
    stale.run_until_complete(leave_one_pending())
    stale.close()  # its task can never finish now

    async def settle_quickly() -> None:
        await asyncio.wait_for(cleanups.settle(), 5)

    asyncio.run(settle_quickly())


async def test_a_background_cleanup_waits_for_the_result_to_be_reported() -> None:
    cleanups = Cleanups()
    started: list[str] = []

    async def note(name: str) -> None:
        started.append(name)

    cleanups.later(lambda: note("background"))
    waited = cleanups.later(lambda: note("awaited"), awaited=True)
    await waited
    for _ in range(20):  # the loop turns a report takes
        await asyncio.sleep(0)
    assert started == ["awaited"]
    await cleanups.settle()
    assert started == ["awaited", "background"]


def test_a_cleanup_cancelled_in_its_delay_leaves_its_work_to_the_fallback() -> None:
    cleanups = Cleanups()
    ran: list[str] = []

    async def cleanup() -> None:
        ran.append("task")

    async def leave_one_delayed() -> None:
        cleanups.later(cleanup, fallback=lambda: ran.append("fallback"))

    asyncio.run(leave_one_delayed())  # the loop ends during the delay: the task is cancelled
    cleanups.finish_abandoned()
    assert ran == ["fallback"]  # and no "coroutine was never awaited" warning (an error here)
