"""Run one named worker until SIGTERM or SIGINT, then let it stop gracefully."""

import asyncio
import logging
import signal

from sandpod.composition.errors import WorkerStoppedError
from sandpod.composition.workers import build_worker
from sandpod.config import Settings

log = logging.getLogger(__name__)


async def run_worker(name: str, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    worker = await build_worker(name, settings)
    try:
        log.info("worker started", extra={"worker": name})
        await worker.work(stop)
        if not stop.is_set():
            raise WorkerStoppedError(f"worker {name} stopped unexpectedly")
        log.info("worker stopped", extra={"worker": name})
    finally:
        await worker.aclose()
