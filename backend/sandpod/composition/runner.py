"""The runner role: MongoDB (claims and status), Kafka, and a sandbox. No Redis."""

import asyncio

from sandpod.composition import connections
from sandpod.composition.opening import opening
from sandpod.composition.services import runner_service
from sandpod.composition.worker import Worker, until_stopped
from sandpod.config import Settings
from sandpod.ports import SandboxLauncher, SandboxRunner
from sandpod.workers.runner import run_runner


async def build_runner(
    settings: Settings, sandbox: SandboxRunner | SandboxLauncher | None = None
) -> Worker:
    """`sandbox` replaces the configured one (tests pass a fake)."""
    async with opening("runner", settings) as stack:
        store = await connections.mongo_store(settings, stack)
        bus = await connections.kafka(settings, stack)
        if sandbox is None:
            sandbox = await connections.worker_sandbox(settings, stack)
    service = runner_service(store=store, bus=bus, sandbox=sandbox)

    async def work(stop: asyncio.Event) -> None:
        await until_stopped(
            run_runner(bus, service, concurrency=settings.workers.max_concurrent_executions), stop
        )

    return Worker("runner", work, stack)
