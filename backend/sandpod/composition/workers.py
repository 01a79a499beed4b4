"""The worker processes of distributed mode: name -> builder."""

from collections.abc import Awaitable, Callable

from sandpod.composition.errors import StartupError
from sandpod.composition.pod_monitor import build_pod_monitor
from sandpod.composition.results import build_results
from sandpod.composition.runner import build_runner
from sandpod.composition.webhooks import build_webhooks
from sandpod.composition.worker import Work, Worker
from sandpod.config import Mode, Settings

__all__ = ["WORKERS", "Work", "Worker", "WorkerBuilder", "build_worker"]

WorkerBuilder = Callable[[Settings], Awaitable[Worker]]

WORKERS: dict[str, WorkerBuilder] = {
    "runner": build_runner,
    "results": build_results,
    "pod-monitor": build_pod_monitor,
    "webhooks": build_webhooks,
}


async def build_worker(name: str, settings: Settings) -> Worker:
    """The worker called `name`; StartupError outside distributed mode or for an unknown name."""
    if settings.mode is not Mode.DISTRIBUTED:
        raise StartupError(
            "workers run as separate processes only in distributed mode "
            "(set SANDPOD_MODE=distributed); embedded mode runs them inside `sandpod run`"
        )
    builder = WORKERS.get(name)
    if builder is None:
        raise StartupError(f"unknown worker {name!r} (known: {', '.join(WORKERS)})")
    return await builder(settings)
