"""The runner role: MongoDB (claims and status), Kafka, a sandbox, and Redis for live output."""

import asyncio

from sandpod.api.worker_health import Check, serve_worker_health
from sandpod.composition import connections
from sandpod.composition.isolation import isolation_guard
from sandpod.composition.opening import opening
from sandpod.composition.services import runner_service
from sandpod.composition.worker import Worker, until_stopped
from sandpod.config import Settings
from sandpod.ports import Sandbox
from sandpod.workers.runner import run_runner


async def build_runner(settings: Settings, sandbox: Sandbox | None = None) -> Worker:
    """`sandbox` replaces the configured one (tests pass a fake)."""
    given = sandbox is not None
    async with opening("runner", settings) as stack:
        store = await connections.mongo_store(settings, stack)
        bus = await connections.kafka(settings, stack)
        redis = await connections.redis(settings, stack)
        if sandbox is None:
            sandbox = await connections.worker_sandbox(settings, stack)
    service = runner_service(
        settings,
        store=store,
        bus=bus,
        sandbox=sandbox,
        files=store.output_files,
        output=redis.output_log,
    )
    # A sandbox handed in by a test is not checked: the canary proves the configured one.
    guard = None if given else isolation_guard(settings, sandbox)
    # Not Redis: live output is a view (the result keeps all of it); its outage stops no run.
    checks: dict[str, Check] = {"store": store.ping, "event_bus": bus.ping}
    if guard is not None:
        checks["isolation"] = guard.ready

    async def work(stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as tasks:
            if guard is not None:
                tasks.create_task(until_stopped(guard.run(), stop))
            health_port = settings.workers.worker_health_port
            if health_port is not None:
                tasks.create_task(serve_worker_health(checks, health_port, stop))
            runner = run_runner(
                bus,
                service,
                concurrency=settings.workers.max_concurrent_executions,
                gate=guard.wait_until_safe if guard else None,
                stop=stop,
                stop_grace_seconds=settings.workers.stop_grace_seconds,
            )
            tasks.create_task(runner)

    return Worker("runner", work, stack)
