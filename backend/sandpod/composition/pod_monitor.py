"""The pod monitor role: Kafka and Kubernetes only, so it starts while MongoDB or Redis is down."""

import asyncio

from sandpod.composition import connections
from sandpod.composition.errors import StartupError
from sandpod.composition.opening import opening
from sandpod.composition.worker import Worker
from sandpod.config import Settings


async def build_pod_monitor(settings: Settings) -> Worker:
    from sandpod.adapters.kubernetes import (
        KubernetesConfigError,
        UnsafeNamespaceError,
        run_pod_monitor,
    )

    async with opening("pod monitor", settings) as stack:
        bus = await connections.kafka(settings, stack)

    async def work(stop: asyncio.Event) -> None:
        """Watches until `stop` is set, then drains (the monitor's own graceful end)."""
        try:
            await run_pod_monitor(settings, bus.publish, stop)
        except (KubernetesConfigError, UnsafeNamespaceError) as error:
            raise StartupError(f"cannot start the pod monitor: {error}") from error

    return Worker("pod-monitor", work, stack)
