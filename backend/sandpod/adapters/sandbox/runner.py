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
from sandpod.adapters.sandbox.devices import device_folder
from sandpod.adapters.sandbox.dynmods import favour_dynamic_moves
from sandpod.adapters.sandbox.execution import SandboxRun
from sandpod.adapters.sandbox.host import SandboxHostError, find_bwrap
from sandpod.adapters.sandbox.phase import PlatformFault, SandboxContext
from sandpod.adapters.sandbox.seccomp import host_filter
from sandpod.adapters.sandbox.spares import SpareWorkdirs
from sandpod.adapters.sandbox.timing import OnLaps
from sandpod.adapters.sandbox.toolchains import Toolchain, discover_on_host
from sandpod.adapters.sandbox.userns import UserNamespaceError, create_sandbox_userns
from sandpod.adapters.sandbox.warm import WarmPool, warm_capable
from sandpod.config import ExecutionSettings, LocalRunnerSettings
from sandpod.domain.limits import MIB, LimitPolicy, Limits
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
    reports_start = False  # the runner's `started` is the program's start

    def __init__(
        self,
        settings: LocalRunnerSettings,
        *,
        toolchains: Mapping[str, Toolchain] | None = None,
        catalogue: Sequence[Runtime] = CATALOGUE,
        on_laps: OnLaps | None = None,
        limit_policy: LimitPolicy | None = None,
    ) -> None:
        """`on_laps` is told where each execution's time went (see timing.py); the warm pool
        starts its sandboxes with each runtime's defaults under `limit_policy`."""
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
        self._pool: WarmPool | None = None
        warm = [
            (runtime, found[runtime.id])
            for runtime in self._runtimes
            if runtime.id in settings.warm_pool_runtimes and warm_capable(runtime)
        ]
        policy = limit_policy or ExecutionSettings().limit_policy
        self._default_tmp_bytes = policy.defaults.tmp_mb * MIB  # what spares.py makes ahead
        if settings.warm_pool_size > 0 and warm:
            self._pool = WarmPool(
                warm,
                size=settings.warm_pool_size,
                memory_budget_bytes=settings.warm_pool_memory_mb * MIB,
                limits_for=lambda runtime: runtime.limits.policy(policy).defaults,
                cgroup_name=cgroup_name,
            )

    def runtimes(self) -> list[Runtime]:
        return list(self._runtimes)

    async def run(self, job: SandboxJob) -> Result:
        toolchain = self._toolchains.get(job.runtime.id)
        if toolchain is None:
            return Result.platform_error(f"runtime {job.runtime.id} is not installed on this host")
        if job.execution_id in self._active:
            return Result.platform_error(f"execution {job.execution_id} is already running here")
        warm = self._pool.take(job, toolchain) if self._pool is not None else None
        execution = SandboxRun(
            job, toolchain, cgroup_name(job.execution_id), self._output_caps, warm
        )
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
            if warm is not None and self._pool is not None:
                self._pool.refill_soon()
            elif self._context is not None and self._context.spares is not None:
                self._context.spares.refill_soon()
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
        if self._pool is not None:
            await self._pool.close()
        if self._context is not None and self._context.spares is not None:
            await self._context.spares.close()
        await self.settle()
        self._cleanups.finish_abandoned()  # e.g. started on a loop that has ended since
        if self._context is not None:
            os.close(self._context.userns_fd)
            self._context = None

    @property
    def warm_claims(self) -> int:
        """How many executions ran in a warm sandbox."""
        return self._pool.claims if self._pool is not None else 0

    @property
    def warm_idle(self) -> int:
        """Warm sandboxes waiting now."""
        return self._pool.idle_count() if self._pool is not None else 0

    async def warm_up(self) -> None:
        """Set up what every run shares and fill the warm pool (if on); returns when full."""
        await self._shared_context()
        if self._pool is not None:
            await self._pool.full()

    async def settle(self) -> None:
        """Wait until what finished executions left behind (cgroups, folders) is removed."""
        await self._cleanups.settle()

    async def _shared_context(self) -> SandboxContext:
        async with self._context_lock:
            if self._context is None:
                self._context = await asyncio.to_thread(self._make_context)
                if self._pool is not None:
                    self._pool.start(self._context)
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
        try:
            root = self._settings.sandbox_root
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            dev_folder = device_folder(root)
        except OSError as exc:  # e.g. no CAP_MKNOD in a container: bind node by node
            logger.info("no device folder in %s (%s); /dev is bound node by node", root, exc)
            dev_folder = None
        return SandboxContext(
            bwrap=bwrap,
            userns_fd=userns_fd,
            cgroups=cgroups,
            root_entries=tuple(host_root_entries()),
            seccomp=host_filter(),
            sandbox_root=self._settings.sandbox_root,
            cleanups=self._cleanups,
            dev_folder=dev_folder,
            spares=SpareWorkdirs(self._settings.sandbox_root, self._default_tmp_bytes),
        )
