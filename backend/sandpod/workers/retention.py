"""Runs the retention sweep periodically (inside the result-processor worker)."""

import asyncio
import logging

from sandpod.ports import ServiceUnavailableError
from sandpod.services.retention import RetentionSweep

log = logging.getLogger(__name__)


async def run_retention(sweep: RetentionSweep, *, interval_seconds: float) -> None:
    if not sweep.enabled:
        return
    while True:
        try:
            await sweep.sweep()
        except ServiceUnavailableError as error:  # an outage: no stack trace, try again later
            log.warning("retention sweep skipped: %s; retrying next interval", error)
        except Exception:
            log.exception("retention sweep failed; retrying next interval")
        await asyncio.sleep(interval_seconds)  # the sweep is periodic by design
