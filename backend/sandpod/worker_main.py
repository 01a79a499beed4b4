"""Run one named worker until SIGTERM or SIGINT, then stop gracefully."""

import asyncio
import logging
import signal

from sandpod.bootstrap import StartupError, build_worker
from sandpod.config import Settings

log = logging.getLogger(__name__)


async def run_worker(name: str, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    container, work = await build_worker(name, settings)
    task = asyncio.create_task(work, name=name)
    log.info("worker started", extra={"worker": name})
    try:
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # surface a crash
            raise StartupError(f"worker {name} stopped unexpectedly")
        log.info("stopping worker", extra={"worker": name})
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await container.aclose()
