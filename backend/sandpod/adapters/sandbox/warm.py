"""Warm sandboxes: started ahead of need, each used by one execution, then destroyed.

A warm sandbox is a cold one stopped just before the user's program: the same bubblewrap
namespaces, seccomp filter, cgroups and rlimits, its folder and /tmp mounted, and the runtime's
interpreter started and blocked on reading a control pipe. It has run no user code. A claim
(Phase.claim) sets the job's limits on the cgroups and on every process in them, writes the
job's files into the folder the sandbox sees at /sandbox, and only then sends the
program's argv down the pipe: the interpreter runs the entrypoint exactly as the cold command
would (argv, sys.path, __main__, tracebacks). The wall clock starts at the claim, CPU time spent
starting the interpreter is not counted. After the run the sandbox is destroyed like a cold one.

Only runtimes with a loader here can be warm (Python), and only jobs whose /tmp size and
environment equal the pool's (the sandbox's /dev/shm size and its environment are fixed when
bubblewrap starts); other jobs take the cold path.
"""

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sandpod.adapters.sandbox.cleanups import DELAY_SECONDS
from sandpod.adapters.sandbox.commands import environment, expand, run_command
from sandpod.adapters.sandbox.phase import Phase, PhaseSpec, PlatformFault, SandboxContext
from sandpod.adapters.sandbox.toolchains import Toolchain
from sandpod.adapters.sandbox.workdir import Workdir
from sandpod.domain.limits import MIB, Limits
from sandpod.domain.runtimes import Runtime
from sandpod.ports import SandboxJob

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # after a warm sandbox failed to start, before the pool tries again
REFILL_DELAY_SECONDS = DELAY_SECONDS  # as a cleanup: after the result it follows is reported
# Warm sandboxes started at once: one per core. They start at the background CPU weight
# (phase.cgroup_limits), so a refill only takes CPU time running programs leave.
STARTERS = os.cpu_count() or 1

# Run as `python ... -c LOADER FD`: says "r" (ready) on the control socket FD, reads from it the
# NUL-separated argv of the cold command from the entrypoint on, then runs the entrypoint as
# `python ... FILE ARGS` would. Its own names leave __main__ first; a traceback starts at the
# program's frame, not the loader's. Before saying "r" it pays what the program would pay on the
# clock: the compiler's first use (~1.5 ms, whatever is compiled).
#
# Its exit skips the interpreter's teardown (~4 ms, about half of a warm hello-world), not what
# a program can see of it. `_sandpod_exit`, registered before the program runs, is the last
# atexit handler: non-daemon threads are joined and the program's handlers have run, as in any
# exit. It flushes the standard streams (a failure makes the status 120, as in Py_FinalizeEx)
# and every open file object, clears __main__ in CPython's order (_PyModule_ClearDict: _names
# first) so its objects' __del__ run and its files close, collects garbage, flushes again (a
# collected cycle closes its files in no set order) and ends with os._exit and the status of
# the program's exit (as _Py_HandleSystemExit computes it; Python has already printed a
# non-integer code). Should it fail, the interpreter's own teardown runs. `atexit` and `gc`
# leave sys.modules again: a cold program finds neither imported (its own `import atexit`
# makes a module on the same registry).
#
# Just before os._exit it closes the standard streams and says "x" and the status byte on the
# control socket (close-on-exec, so the program's children never hold it): the runner then has
# the whole output and the status without waiting for the process's exit through bubblewrap's
# init and monitor (~2 ms here). It then waits to be killed: the runner kills bubblewrap's init
# first, so the init's exit is not the one that tears the namespaces down (phase.py). The
# program could send those bytes itself, at any time; that only ends its own run early with a
# status it chose, which it can do anyway.
PYTHON_LOADER = """\
def _sandpod_run():
    import atexit, gc, os, sys
    from _io import _IOBase
    del sys.modules["atexit"], sys.modules["gc"]
    fd = int(sys.argv[-1])
    os.set_inheritable(fd, False)
    compile("", "<sandpod>", "exec", dont_inherit=True)
    namespace = sys.modules["__main__"].__dict__
    status = 1

    def _flush_files():
        kinds, new = set(), [_IOBase]
        while new:  # every file class, the program's own subclasses too
            kinds.update(new)
            new = [sub for kind in new for sub in type.__subclasses__(kind) if sub not in kinds]
        for item in gc.get_objects():
            if type(item) in kinds:
                try:
                    if not item.closed:
                        item.flush()
                except Exception:
                    pass

    def _sandpod_exit():
        code = status
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None and not stream.closed:
                    stream.flush()
            except Exception:
                code = 120
        _flush_files()
        names = [name for name in namespace if name[:1] == "_" and name[:2] != "__"]
        for name in names + [name for name in namespace if name != "__builtins__"]:
            namespace[name] = None
        gc.collect()
        _flush_files()
        for std in (0, 1, 2):
            try:
                os.close(std)
            except OSError:
                pass
        try:
            os.write(fd, b"x" + bytes([code & 255]))
            __import__("time").sleep(10)  # the runner kills the sandbox long before
        except OSError:
            pass
        os._exit(code)

    atexit.register(_sandpod_exit)
    os.write(fd, b"r")
    data = bytearray()
    while chunk := os.read(fd, 65536):
        data += chunk
    argv = [os.fsdecode(word) for word in bytes(data).split(b"\\0")]
    del namespace["_sandpod_run"]
    sys.argv = argv
    sys.path[0] = os.path.dirname(argv[0])
    namespace["__file__"] = argv[0]
    namespace["__cached__"] = None
    try:
        with open(argv[0], "rb") as source:
            code = compile(source.read(), argv[0], "exec", dont_inherit=True)
    except SyntaxError as error:
        sys.excepthook(type(error), error, error.with_traceback(None).__traceback__)
        sys.exit(1)
    try:
        exec(code, namespace)
        status = 0
    except SystemExit as error:
        if error.code is None:
            status = 0
        elif isinstance(error.code, int):
            status = error.code & 255 if -(1 << 63) <= error.code < 1 << 63 else 255
        raise
    except BaseException as error:
        error.with_traceback(error.__traceback__.tb_next)  # from the program's own frame
        sys.excepthook(type(error), error, error.__traceback__)
        sys.exit(1)
_sandpod_run()
"""
LOADERS: Mapping[str, str] = {"python": PYTHON_LOADER}
FILE_WORD = "{file}"


async def _remove_when_made(making: asyncio.Future[Workdir]) -> None:
    with contextlib.suppress(PlatformFault):
        workdir = await making
        await asyncio.to_thread(workdir.remove)


def warm_capable(runtime: Runtime) -> bool:
    return runtime.language in LOADERS and runtime.compile is None and FILE_WORD in runtime.command


def warm_command(template: SandboxJob, toolchain: Toolchain) -> list[str]:
    """The cold run command up to the entrypoint, then the loader (Phase adds its pipe)."""
    runtime = template.runtime
    before = runtime.command[: runtime.command.index(FILE_WORD)]
    return [*expand(before, job=template, toolchain=toolchain), "-c", LOADERS[runtime.language]]


def warm_program(job: SandboxJob, toolchain: Toolchain) -> list[str]:
    """What the loader is sent: the cold run command from the entrypoint on, with the args."""
    return run_command(job, toolchain)[job.runtime.command.index(FILE_WORD) :]


@dataclass(frozen=True)
class WarmSandbox:
    phase: Phase
    workdir: Workdir
    env: Mapping[str, str]
    tmp_mb: int

    def fits(self, job: SandboxJob, toolchain: Toolchain) -> bool:
        return job.limits.tmp_mb == self.tmp_mb and self.env == environment(
            job.runtime, toolchain, job.limits.memory_mb
        )


class WarmPool:
    """Up to `size` idle warm sandboxes per runtime, refilled in the background, together
    never holding more than `memory_budget_bytes` (their cgroups' current usage)."""

    def __init__(
        self,
        runtimes: Sequence[tuple[Runtime, Toolchain]],
        *,
        size: int,
        memory_budget_bytes: int,
        limits_for: Callable[[Runtime], Limits],
        cgroup_name: Callable[[str], str],
    ) -> None:
        self._runtimes = {runtime.id: (runtime, toolchain) for runtime, toolchain in runtimes}
        self._size = size
        self._budget = memory_budget_bytes
        self._limits_for = limits_for
        self._cgroup_name = cgroup_name
        self._idle: dict[str, list[WarmSandbox]] = {runtime_id: [] for runtime_id in self._runtimes}
        self._wanted = asyncio.Event()
        self._full = asyncio.Event()
        self._filler: asyncio.Task[None] | None = None
        self._ctx: SandboxContext | None = None
        self.claims = 0  # warm sandboxes handed to executions so far

    def start(self, ctx: SandboxContext) -> None:
        if self._filler is None and self._runtimes:
            self._ctx = ctx
            self._filler = asyncio.create_task(self._fill_forever(ctx))
            self._wanted.set()

    async def full(self) -> None:
        """Wait until every runtime has its idle sandboxes (or the budget is reached)."""
        await self._full.wait()

    def take(self, job: SandboxJob, toolchain: Toolchain) -> WarmSandbox | None:
        """A started sandbox for this job, or None (the job then starts cold)."""
        idle = self._idle.get(job.runtime.id)
        if not idle:
            return None
        for warm in [warm for warm in idle if not warm.phase.alive()]:
            idle.remove(warm)  # killed while it waited (by hand, or the OOM killer)
            self._destroy(warm)
            self._full.clear()
            self._wanted.set()
        for index, warm in enumerate(idle):
            if warm.fits(job, toolchain):
                del idle[index]
                self.claims += 1
                self._full.clear()
                return warm
        return None

    def refill_soon(self) -> None:
        """Start replacing claimed sandboxes a moment from now: called when a claimed run has
        returned its result. Started at the claim, a refill's spawn and cgroup writes (~2 ms
        on the event loop) delayed the very run that claimed."""
        if self._filler is not None and not self._full.is_set():
            asyncio.get_running_loop().call_later(REFILL_DELAY_SECONDS, self._wanted.set)

    def _destroy(self, warm: WarmSandbox) -> None:
        assert self._ctx is not None
        warm.phase.discard(self._ctx)
        remove = warm.workdir.remove
        self._ctx.cleanups.later(lambda: asyncio.to_thread(remove), fallback=remove)

    def idle_count(self) -> int:
        return sum(len(idle) for idle in self._idle.values())

    async def close(self) -> None:
        if self._filler is not None:
            self._filler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._filler
            self._filler = None
        for idle in self._idle.values():
            while idle:
                self._destroy(idle.pop())

    def _memory(self) -> int:
        return sum(warm.phase.memory_bytes() for idle in self._idle.values() for warm in idle)

    def _batch(self, missing: int) -> int:
        """How many to start at once: one while no idle sandbox shows what one holds, then
        up to STARTERS, as many as the budget has room for (one more of the average each)."""
        count = self.idle_count()
        if missing <= 0 or count == 0:
            return min(missing, 1)
        memory = self._memory()
        batch = min(missing, STARTERS)
        while batch > 0 and memory * (count + batch) // count > self._budget:
            batch -= 1
        return batch

    async def _fill_forever(self, ctx: SandboxContext) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            for runtime_id, (runtime, toolchain) in self._runtimes.items():
                idle = self._idle[runtime_id]
                while batch := self._batch(self._size - len(idle)):
                    # Each one joins the pool as it is ready: one cancelled with its batch
                    # cleans up after itself, one already made is close()'s to destroy.
                    ended = await asyncio.gather(
                        *(self._make_into(idle, ctx, runtime, toolchain) for _ in range(batch)),
                        return_exceptions=True,
                    )
                    faults = [exc for exc in ended if isinstance(exc, BaseException)]
                    for exc in faults:
                        if not isinstance(exc, PlatformFault):
                            raise exc
                    if faults:
                        logger.warning(
                            "warm sandbox for %s did not start: %s", runtime_id, faults[0]
                        )
                        await asyncio.sleep(RETRY_SECONDS)
                        self._wanted.set()
                        break
            if not self._wanted.is_set():
                self._full.set()

    async def _make_into(
        self, idle: list[WarmSandbox], ctx: SandboxContext, runtime: Runtime, toolchain: Toolchain
    ) -> None:
        idle.append(await self._make(ctx, runtime, toolchain))

    async def _make(
        self, ctx: SandboxContext, runtime: Runtime, toolchain: Toolchain
    ) -> WarmSandbox:
        limits = self._limits_for(runtime)
        name = self._cgroup_name(f"warm-{runtime.id}")
        template = SandboxJob(name, runtime, "", "", limits)
        making = asyncio.ensure_future(
            asyncio.to_thread(
                Workdir.make,
                ctx.sandbox_root,
                f"{name}-",
                limits.tmp_mb * MIB,
                seed=toolchain.tmp_seed,
            )
        )
        try:
            workdir = await asyncio.shield(making)
        except asyncio.CancelledError:  # the thread goes on: remove what it makes (close waits)
            ctx.cleanups.later(lambda: _remove_when_made(making))
            raise
        env = environment(runtime, toolchain, limits.memory_mb)
        spec = PhaseSpec(
            label="warm",
            execution_id=name,
            command=warm_command(template, toolchain),
            limits=limits,
            stdin=b"",
            env=env,
            sources=workdir.sources,
            tmp=workdir.tmp,
            binds=toolchain.binds,
        )
        phase = Phase(spec, name, warm=True)
        try:
            if not await phase.start(ctx):
                raise PlatformFault("cancelled while it started")
            await phase.ready()
        except BaseException:
            phase.discard(ctx)
            await asyncio.to_thread(workdir.remove)
            raise
        return WarmSandbox(phase, workdir, env, limits.tmp_mb)
