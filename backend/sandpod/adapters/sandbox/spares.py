"""Spare execution folders: made ahead for the cold path, each handed to one execution.

A cold run needs its folder (sources/ and a size-capped tmpfs for /tmp) before bubblewrap can
start, ~0.4 ms of system calls on the critical path. A spare is exactly what Workdir.make gives a
run, made in the background for the default /tmp size: empty, never seen by any sandbox, used
once and removed like any other. Jobs with another /tmp size, or whose runtime seeds /tmp, make
their own as before. No process is started ahead: the sandbox itself is still built per run.
"""

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from sandpod.adapters.sandbox.cleanups import DELAY_SECONDS
from sandpod.adapters.sandbox.phase import PlatformFault
from sandpod.adapters.sandbox.toolchains import Toolchain
from sandpod.adapters.sandbox.workdir import Workdir

logger = logging.getLogger(__name__)

COUNT = 4  # refilled from 20 ms after a run: enough for the runs of those 20 ms


class SpareWorkdirs:
    def __init__(self, root: Path, tmp_bytes: int, count: int = COUNT) -> None:
        self._root = root
        self._tmp_bytes = tmp_bytes
        self._count = count
        self._idle: list[Workdir] = []
        self._filling: asyncio.Task[None] | None = None
        self._closed = False

    def take(self, tmp_bytes: int, toolchain: Toolchain) -> Workdir | None:
        """A spare for a job with this /tmp size and toolchain, or None (it makes its own)."""
        if tmp_bytes != self._tmp_bytes or toolchain.tmp_seed:
            return None
        while self._idle:
            spare = self._idle.pop()
            # Still its own tmpfs? Another runner's start-up sweep of the same root unmounts
            # every mount under it, and a /tmp without its size cap must never be handed out.
            if os.path.ismount(spare.tmp):
                return spare
            spare.remove()
        return None

    def refill_soon(self) -> None:
        """Make the missing spares a moment from now, after the result just reported."""
        if self._closed or self._filling is not None or len(self._idle) >= self._count:
            return
        self._filling = asyncio.create_task(self._fill())

    async def _fill(self) -> None:
        try:
            await asyncio.sleep(DELAY_SECONDS)
            while not self._closed and len(self._idle) < self._count:
                made = asyncio.ensure_future(asyncio.to_thread(self._make))
                try:
                    workdir = await asyncio.shield(made)
                except asyncio.CancelledError:  # the thread goes on: remove what it makes
                    with contextlib.suppress(PlatformFault):
                        (await made).remove()
                    raise
                self._idle.append(workdir)  # close() cancels this task before it empties the list
        except PlatformFault as exc:  # the next run makes its own folder, and says why
            logger.warning("no spare execution folder: %s", exc)
        finally:
            self._filling = None

    def _make(self) -> Workdir:
        return Workdir.make(self._root, "spare-", self._tmp_bytes, seed={})

    async def close(self) -> None:
        """Remove every spare (and one being made)."""
        self._closed = True
        if self._filling is not None:
            self._filling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._filling
        while self._idle:
            await asyncio.to_thread(self._idle.pop().remove)
