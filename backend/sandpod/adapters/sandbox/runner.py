"""LocalSandboxRunner: the Sandbox port on this machine (bubblewrap + cgroups + rlimits)."""

import asyncio
import logging
import os
import re
import secrets
from collections.abc import Mapping, Sequence

from sandpod.adapters.sandbox.bwrap import host_root_entries
from sandpod.adapters.sandbox.cgroups import CgroupError, open_cgroups
from sandpod.adapters.sandbox.cleanups import Cleanups
from sandpod.adapters.sandbox.collect import OutputCaps
from sandpod.adapters.sandbox.dynmods import favour_dynamic_moves
from sandpod.adapters.sandbox.execution import SandboxRun
from sandpod.adapters.sandbox.host import SandboxHostError, find_bwrap
from sandpod.adapters.sandbox.phase import PlatformFault, SandboxContext
from sandpod.adapters.sandbox.seccomp import host_filter
from sandpod.adapters.sandbox.timing import OnLaps
from sandpod.adapters.sandbox.toolchains import Toolchain, discover_on_host
from sandpod.adapters.sandbox.userns import UserNamespaceError, create_sandbox_userns
from sandpod.config import LocalRunnerSettings
from sandpod.domain.limits import Limits
from sandpod.domain.result import Result
from sandpod.domain.runtimes import CATALOGUE, Runtime
from sandpod.ports import SandboxJob

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def cgroup_name(execution_id: str) -> str:
    """A directory name for the execution, unique even if an id repeats."""
    return f"{_UNSAFE.sub('_', execution_id)[:64]}-{secrets.token_hex(4)}"


class LocalSandboxRunner:
    """Runs each job in a fresh bubblewrap sandbox with its own cgroups; see execution.py."""

    name = "local"

    def __init__(
        self,
        settings: LocalRunnerSettings,
        *,
        toolchains: Mapping[str, Toolchain] | None = None,
        catalogue: Sequence[Runtime] = CATALOGUE,
        on_laps: OnLaps | None = None,
    ) -> None:
        """`on_laps` is told where each execution's time went (see timing.py)."""
        self._settings = settings
        self._on_laps = on_laps
        found = (
            discover_on_host(catalogue, settings.toolchains_dir)
            if toolchains is None
            else dict(toolchains)
        )
        self._toolchains = found
        self._output_caps = OutputCaps(
            max_files=settings.output_files_max_count, max_bytes=settings.output_files_max_bytes
        )
        self._runtimes = [runtime for runtime in catalogue if runtime.id in found]
        self._active: dict[str, SandboxRun] = {}
        self._context: SandboxContext | None = None
        self._context_lock = asyncio.Lock()
        self._cleanups = Cleanups()

    def runtimes(self) -> list[Runtime]:
        return list(self._runtimes)

    async def run(self, job: SandboxJob) -> Result:
        toolchain = self._toolchains.get(job.runtime.id)
        if toolchain is None:
            return Result.platform_error(f"runtime {job.runtime.id} is not installed on this host")
        if job.execution_id in self._active:
            return Result.platform_error(f"execution {job.execution_id} is already running here")
        execution = SandboxRun(job, toolchain, cgroup_name(job.execution_id), self._output_caps)
        self._active[job.execution_id] = execution
        try:
            context = await self._shared_context()
            return await execution.run(context)
        except PlatformFault as exc:
            logger.warning("sandbox platform error for %s: %s", job.execution_id, exc)
            return Result.platform_error(str(exc))
        except Exception as exc:  # the port promises a Result, never an exception
            logger.exception("local sandbox runner failed on %s", job.execution_id)
            return Result.platform_error(f"local sandbox runner failed: {exc!r}")
        finally:
            self._active.pop(job.execution_id, None)
            if self._on_laps is not None:
                self._on_laps(execution.watch.laps)

    async def cancel(self, execution_id: str) -> bool:
        execution = self._active.get(execution_id)
        return execution.cancel() if execution is not None else False

    async def probe(self, job: SandboxJob) -> Result:
        return await self.run(job)

    def process_budget(self, limits: Limits) -> int:
        return limits.processes

    async def close(self) -> None:
        """Release the shared user namespace once every cleanup is done; running executions
        must have ended."""
        await self.settle()
        if self._context is not None:
            os.close(self._context.userns_fd)
            self._context = None

    async def settle(self) -> None:
        """Wait until what finished executions left behind (cgroups, folders) is removed."""
        await self._cleanups.settle()

    async def _shared_context(self) -> SandboxContext:
        async with self._context_lock:
            if self._context is None:
                self._context = await asyncio.to_thread(self._make_context)
            return self._context

    def _make_context(self) -> SandboxContext:
        try:
            bwrap = find_bwrap(self._settings.bwrap_path)
            cgroups = open_cgroups(self._settings.cgroup_root, self._settings.cgroup_parent)
            cgroups.check()
            if self._settings.cgroup_favor_dynmods and cgroups.version == 1:
                favour_dynamic_moves(self._settings.cgroup_root)
            userns_fd = create_sandbox_userns()
        except (SandboxHostError, CgroupError, UserNamespaceError) as exc:
            raise PlatformFault(str(exc)) from exc
        return SandboxContext(
            bwrap=bwrap,
            userns_fd=userns_fd,
            cgroups=cgroups,
            root_entries=tuple(host_root_entries()),
            seccomp=host_filter(),
            sandbox_root=self._settings.sandbox_root,
            cleanups=self._cleanups,
        )
