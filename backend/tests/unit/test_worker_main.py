"""A worker process stops gracefully on SIGTERM: its work sees the stop and ends by itself."""

import asyncio
import contextlib
import os
import signal

import pytest

from sandpod.composition import workers
from sandpod.composition.errors import WorkerStoppedError
from sandpod.composition.worker import Worker
from sandpod.config import Mode, Settings
from sandpod.entrypoints.worker_main import run_worker

DISTRIBUTED = Settings(mode=Mode.DISTRIBUTED)


def worker_that(work: workers.Work, log: list[str]) -> workers.WorkerBuilder:
    async def build(settings: Settings) -> Worker:
        stack = contextlib.AsyncExitStack()
        stack.callback(log.append, "closed")
        return Worker("fake", work, stack)

    return build


async def test_sigterm_sets_the_stop_event_and_the_work_drains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[str] = []

    async def work(stop: asyncio.Event) -> None:
        log.append("started")
        os.kill(os.getpid(), signal.SIGTERM)  # as `docker stop` or the kubelet would
        await stop.wait()
        await asyncio.sleep(0)  # the drain: in-flight work ends here, never cancelled
        log.append("drained")

    monkeypatch.setitem(workers.WORKERS, "fake", worker_that(work, log))
    await run_worker("fake", DISTRIBUTED)
    assert log == ["started", "drained", "closed"]


async def test_work_that_ends_by_itself_is_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[str] = []

    async def work(stop: asyncio.Event) -> None:
        log.append("ended")

    monkeypatch.setitem(workers.WORKERS, "fake", worker_that(work, log))
    with pytest.raises(WorkerStoppedError, match="worker fake stopped unexpectedly"):
        await run_worker("fake", DISTRIBUTED)
    assert log == ["ended", "closed"]
