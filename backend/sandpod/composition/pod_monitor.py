"""The pod monitor role: Kafka and Kubernetes only, so it starts while MongoDB or Redis is down."""

import asyncio

from sandpod.composition import connections
from sandpod.composition.errors import StartupError
from sandpod.composition.opening import opening
from sandpod.composition.worker import Worker
from sandpod.config import Settings
from sandpod.domain.events import ExecutionFinished, ExecutionStarted
from sandpod.ports import OutputFileStore
from sandpod.services.runner import keep_output_files


async def build_pod_monitor(settings: Settings) -> Worker:
    from sandpod.adapters.kubernetes import (
        KubernetesConfigError,
        UnsafeNamespaceError,
        run_pod_monitor,
    )

    async with opening("pod monitor", settings) as stack:
        bus = await connections.kafka(settings, stack)
        files = connections.output_files(settings, stack)

    async def publish(event: ExecutionFinished) -> None:
        await bus.publish(await files_kept(files, event))

    async def report_start(event: ExecutionStarted) -> None:
        await bus.publish(event)

    async def work(stop: asyncio.Event) -> None:
        """Watches until `stop` is set, then drains (the monitor's own graceful end)."""
        try:
            await run_pod_monitor(settings, publish, stop, report_start)
        except (KubernetesConfigError, UnsafeNamespaceError) as error:
            raise StartupError(f"cannot start the pod monitor: {error}") from error

    return Worker("pod-monitor", work, stack)


async def files_kept(files: OutputFileStore, event: ExecutionFinished) -> ExecutionFinished:
    """The event with the files its pod sent back stored (MongoDB), and their bytes dropped."""
    result = await keep_output_files(files, event.execution_id, event.result)
    return event.model_copy(update={"result": result})
