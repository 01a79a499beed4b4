"""The result processor worker: applies status events and runs the timeout sweep."""

import asyncio
import logging

from sandpod.domain.events import EventType
from sandpod.observability import instrumented
from sandpod.ports import EventBus, ServiceUnavailableError
from sandpod.services.results import ResultProcessor

log = logging.getLogger(__name__)

RESULTS_GROUP = "results"
RESULT_EVENTS = [EventType.STARTED, EventType.FINISHED, EventType.CANCEL_REQUESTED]


async def run_results(
    bus: EventBus, processor: ResultProcessor, *, sweep_interval_seconds: float
) -> None:
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(
            bus.consume(
                RESULTS_GROUP,
                RESULT_EVENTS,
                instrumented(RESULTS_GROUP, processor.handle),
                concurrency=4,
            )
        )
        tasks.create_task(_sweep_forever(processor, sweep_interval_seconds))


async def _sweep_forever(processor: ResultProcessor, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)  # the sweep is periodic by design
        try:
            await processor.sweep()
        except ServiceUnavailableError as error:  # an outage: no stack trace, try again later
            log.warning("timeout sweep skipped: %s; retrying next interval", error)
        except Exception:
            log.exception("timeout sweep failed; retrying next interval")
