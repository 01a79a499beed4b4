"""A runner told to stop (SIGTERM) takes no new work and lets what it runs finish."""

import asyncio

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.composition.runner import build_runner
from tests.integration.stacks import EXECUTIONS, Stack, running
from tests.waiting import eventually

SLOW = {
    "runtime": "python:3.12",
    "script": "import time\nprint('begin', flush=True)\ntime.sleep(3)\nprint('end')\n",
}
HELLO = {"runtime": "python:3.12", "script": "print('hello')"}


async def status(stack: Stack, execution_id: str) -> str:
    response = await stack.http.get(f"{EXECUTIONS}/{execution_id}", headers=stack.headers["owner"])
    value: str = response.json()["status"]
    return value


async def test_a_stopping_runner_finishes_its_executions_and_takes_no_new_one(
    sandbox_runner: LocalSandboxRunner,
) -> None:
    async with running(
        "distributed", sandbox_runner, with_runner=False, workers={"stop_grace_seconds": 60}
    ) as stack:
        runner = await build_runner(stack.settings, sandbox_runner)
        stop = asyncio.Event()
        work = asyncio.create_task(runner.work(stop))
        try:
            slow = await stack.submit(SLOW)

            async def slow_running() -> bool:
                return await status(stack, slow) == "running"

            await eventually(slow_running, timeout=60, what="the slow execution to start")
            stop.set()
            later = await stack.submit(HELLO)
            # A bound on a hang, not a speed check.
            await asyncio.wait_for(asyncio.shield(work), 60)
        finally:
            stop.set()
            await asyncio.gather(work, return_exceptions=True)
            await runner.aclose()
        finished = await stack.finished(slow)
        assert finished["status"] == "completed", finished
        assert finished["result"]["stdout"] == "begin\nend\n"
        assert await status(stack, later) == "queued"  # left on the bus for another runner

        second = await build_runner(stack.settings, sandbox_runner)
        second_stop = asyncio.Event()
        second_work = asyncio.create_task(second.work(second_stop))
        try:
            done = await stack.finished(later)
            assert done["status"] == "completed", done
            assert done["result"]["stdout"] == "hello\n"
        finally:
            second_stop.set()
            await asyncio.gather(second_work, return_exceptions=True)
            await second.aclose()
