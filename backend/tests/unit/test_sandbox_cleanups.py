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
        cleanups.later(second())
        done.append("first")

    cleanups.later(first())
    await cleanups.settle()
    assert done == ["first", "second"]


def test_a_cleanup_left_on_a_closed_loop_does_not_block_another_loop() -> None:
    cleanups = Cleanups()

    async def leave_one_pending() -> None:
        cleanups.later(asyncio.sleep(3600))

    stale = asyncio.new_event_loop()
    stale.run_until_complete(leave_one_pending())
    stale.close()  # its task can never finish now

    async def settle_quickly() -> None:
        await asyncio.wait_for(cleanups.settle(), 5)

    asyncio.run(settle_quickly())
