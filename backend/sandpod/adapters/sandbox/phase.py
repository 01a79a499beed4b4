"""One phase (compile or run) of an execution in its own sandbox, from spawn to cleanup.

The order matters. bwrap is started with --block-fd: it builds the sandbox, drops privileges
and then waits before it forks the program. Meanwhile the runner learns the pid of the
sandbox's init from --json-status-fd, moves that process into the execution's cgroups and
applies rlimits to it with prlimit(2). Only then is the block released, so the program and
everything it starts are born limited and accounted.
"""

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import resource
import signal
import socket
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandpod.adapters.sandbox.bwrap import WORKDIR, BwrapSpec, RootEntry, build_argv
from sandpod.adapters.sandbox.cgroups import (
    BACKGROUND_CPU_WEIGHT,
    CPU_WEIGHT,
    CgroupError,
    CgroupLimits,
    Cgroups,
    CgroupUsage,
    SandboxCgroup,
)
from sandpod.adapters.sandbox.cleanups import Cleanups
from sandpod.adapters.sandbox.outcome import StopReason
from sandpod.adapters.sandbox.output import Captured, OnData, feed_stdin, read_capped
from sandpod.adapters.sandbox.timing import Stopwatch
from sandpod.domain.limits import MIB, Limits
from sandpod.domain.output import OutputStream
from sandpod.ports import OutputSink, StdinSource

if TYPE_CHECKING:  # spares.py makes folders that raise PlatformFault from here
    from sandpod.adapters.sandbox.spares import SpareWorkdirs

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05  # how often wall time, CPU time and stop requests are checked
SETUP_SECONDS = 10.0  # bwrap must report its sandbox within this
GRACE_SECONDS = 5.0  # after a kill, how long processes and pipes may take to go away
OPEN_FILES = 256
BWRAP_ENV = {"PATH": "/usr/bin:/bin"}  # bwrap's own environment shows in /proc/1/environ


class PlatformFault(RuntimeError):
    """The platform, not the script, failed; becomes Result.platform_error."""


@dataclass(frozen=True)
class SandboxContext:
    """What every execution of a runner shares."""

    bwrap: str
    userns_fd: int
    cgroups: Cgroups
    root_entries: tuple[RootEntry, ...]
    seccomp: bytes | None
    sandbox_root: Path
    cleanups: Cleanups
    dev_folder: Path | None = None  # bound at /dev (devices.py); None: node by node
    spares: "SpareWorkdirs | None" = None  # execution folders made ahead (spares.py)


def rlimits(limits: Limits) -> dict[int, tuple[int, int]]:
    cpu = max(1, int(limits.cpu_seconds + 0.999))  # whole seconds; the cgroup check is finer
    file_size = limits.file_size_mb * MIB
    return {
        resource.RLIMIT_CPU: (cpu, cpu + 1),  # SIGXCPU first, SIGKILL a second later
        resource.RLIMIT_FSIZE: (file_size, file_size),
        resource.RLIMIT_NOFILE: (OPEN_FILES, OPEN_FILES),
        resource.RLIMIT_CORE: (0, 0),
    }


def cgroup_limits(limits: Limits, *, background: bool = False) -> CgroupLimits:
    """`background`: a warm sandbox starting ahead of need (a claim makes it foreground)."""
    # +1 for bwrap's init (pid 1 of the sandbox), which lives in the cgroup too.
    return CgroupLimits(
        memory_bytes=limits.memory_mb * MIB,
        pids=limits.processes + 1,
        cpu_weight=BACKGROUND_CPU_WEIGHT if background else CPU_WEIGHT,
    )


def _close(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


async def _program_exit(status: asyncio.StreamReader) -> int | None:
    """The program's exit status from bwrap's JSON status lines; None if bwrap ended without."""
    while line := await status.readline():
        with contextlib.suppress(ValueError, TypeError):
            report = json.loads(line)
            if "exit-code" in report:
                return int(report["exit-code"])
    return None


async def _loader_exit(control: socket.socket) -> int | None:
    """The status a warm loader says before its exit (warm.py), None if it ends without."""
    loop = asyncio.get_running_loop()
    said = b""
    with contextlib.suppress(OSError):
        while len(said) < 2 and (chunk := await loop.sock_recv(control, 2 - len(said))):
            said += chunk
    return said[1] if said[:1] == b"x" and len(said) == 2 else None


async def _first_exit(status: asyncio.StreamReader, control: socket.socket | None) -> int | None:
    """bwrap's status of the program's end, or a warm loader's if it comes first."""
    bwrap = asyncio.ensure_future(_program_exit(status))
    if control is None:
        return await bwrap
    loader = asyncio.ensure_future(_loader_exit(control))
    try:
        await asyncio.wait((bwrap, loader), return_when=asyncio.FIRST_COMPLETED)
        if loader.done() and loader.result() is not None:
            return loader.result()
        return await bwrap
    finally:
        bwrap.cancel()
        loader.cancel()


async def _drain(stream: asyncio.StreamReader | None) -> None:
    if stream is not None:
        while await stream.read(65536):
            pass


def _to(sink: OutputSink | None, stream: OutputStream) -> OnData | None:
    if sink is None:
        return None

    def write(data: bytes, truncated: bool) -> None:
        sink.write(stream, data, truncated=truncated)

    return write


@dataclass(frozen=True)
class PhaseSpec:
    """What one sandbox runs, with which limits, seeing which host folders."""

    label: str  # "compile" or "run", for messages and logs
    execution_id: str
    command: Sequence[str]
    limits: Limits
    stdin: bytes
    env: Mapping[str, str]
    sources: Path
    tmp: Path
    binds: Sequence[Path] = field(default_factory=tuple)
    chdir: str = WORKDIR
    output: OutputSink | None = None  # sees the output as it is read (live output)
    live_stdin: StdinSource | None = None  # more stdin after `stdin` (attach)


@dataclass(frozen=True)
class PhaseOutcome:
    stdout: Captured
    stderr: Captured
    exit_status: int | None
    started: bool
    usage: CgroupUsage
    wall: float
    stop_reason: StopReason | None


class Phase:
    def __init__(
        self,
        spec: PhaseSpec,
        cgroup_name: str,
        watch: Stopwatch | None = None,
        *,
        warm: bool = False,
    ) -> None:
        """A `warm` phase's command waits for its program on a control pipe whose descriptor
        number is appended to the command; claim() tightens the limits and sends it."""
        self.spec = spec
        self.cgroup_name = cgroup_name
        self.watch = watch or Stopwatch()
        self.warm = warm
        self._control: socket.socket | None = None  # a warm phase's end of its control socket
        self._cpu_base = 0.0  # CPU time spent before the claim (a warm interpreter's start)
        self.stop_reason: StopReason | None = None
        self._stop = asyncio.Event()
        self._finished = False
        self._cgroup: SandboxCgroup | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._pidfd: int | None = None
        self._block_w: int | None = None
        self._status: asyncio.ReadTransport | None = None
        self._status_reader: asyncio.StreamReader | None = None
        self._starting: asyncio.Task[Any] | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    # ------------------------------------------------------------------ control

    def request_stop(self, reason: StopReason) -> None:
        """Ask the supervisor to kill the sandbox (cancel, output flood). First reason wins."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop.set()

    def cancel(self) -> bool:
        """Stop a running (or not yet started) sandbox; False once the program has ended."""
        if self._finished:
            return False
        self.request_stop(StopReason.CANCEL)
        return True

    def _cancel_requested(self) -> bool:
        # A method, not an inline test: cancel() changes stop_reason while run() awaits.
        return self.stop_reason is StopReason.CANCEL

    def _kill(self, *, with_bwrap: bool = False) -> None:
        """SIGKILL the sandbox: its init (the kernel then kills the whole pid namespace) and,
        for anything else, every process in the cgroup. `with_bwrap` also kills bwrap's
        process group, which holds the init too before it is known or confined: bwrap's init
        outlives its parent and would start the program once the block is closed."""
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        proc = self._proc
        if with_bwrap and proc is not None and proc.returncode is None:
            # Group of the session bwrap leads (start_new_session); alive, so not reused.
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._cgroup is not None:
            self._cgroup.kill_all()

    def _end_sandbox(self) -> None:
        """After the program's end: SIGKILL the sandbox's init (the kernel kills the rest of
        its pid namespace) and bwrap. Not the cgroup's processes (cleanup sweeps those): the
        last process of the sandbox tears its namespaces down (~2 ms) before its descriptors
        close, and the init, which holds the output pipes, must not be that one."""
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)

    # ------------------------------------------------------------------ run

    async def run(self, ctx: SandboxContext) -> PhaseOutcome | None:
        """How the phase ended; None when it was cancelled before its program started."""
        return await self.guarded(ctx, self._run(ctx))

    async def guarded(
        self, ctx: SandboxContext, work: Coroutine[Any, Any, PhaseOutcome | None]
    ) -> PhaseOutcome | None:
        """`work` on this phase, then its cleanup whichever way it ends."""
        try:
            outcome = await work
        except BaseException:
            # Shielded: if this task is cancelled again, cleanup still finishes in the background.
            cleanup = ctx.cleanups.later(self._cleanup, fallback=self._cleanup_now, awaited=True)
            await asyncio.shield(cleanup)
            raise
        # The program and its sandbox are gone (_communicate); what is left is bookkeeping.
        ctx.cleanups.later(self._cleanup, fallback=self._cleanup_now)
        return outcome

    async def _run(self, ctx: SandboxContext) -> PhaseOutcome | None:
        if not await self.start(ctx):
            return None
        return await self.finish()

    async def claim(self, spec: PhaseSpec, program: Sequence[str]) -> PhaseOutcome:
        """Run a job in this started warm sandbox: its limits first, then its program."""
        assert self._control is not None, "claim() is for a started warm phase"
        assert self._cgroup is not None
        started, self.spec = self.spec.limits, spec
        try:
            # Only what differs from the start's limits (no program has run to change them):
            # each write is a system call on the claim's clock.
            before = cgroup_limits(started, background=True)
            self._cgroup.set_limits(cgroup_limits(spec.limits), before=before)
            self._cgroup.reset_peak()
            old = rlimits(started)
            changed = {
                key: value for key, value in rlimits(spec.limits).items() if old[key] != value
            }
            for pid in self._cgroup.pids() if changed else ():
                for limit, values in changed.items():
                    resource.prlimit(pid, limit, values)
        except (CgroupError, OSError) as exc:
            raise PlatformFault(f"cannot confine the warm sandbox: {exc}") from exc
        self._cpu_base = self._cgroup.cpu_seconds()
        message = b"\0".join(os.fsencode(word) for word in program)
        loop = asyncio.get_running_loop()
        # A dead sandbox (killed while it waited) reports its own end: nothing to send then.
        with contextlib.suppress(OSError):
            await loop.sock_sendall(self._control, message)
            self._control.shutdown(socket.SHUT_WR)  # the loader reads to the end
        self.watch.lap("claim")
        return await self.finish()

    async def ready(self) -> None:
        """Wait until a started warm sandbox's loader waits for its program."""
        assert self._control is not None, "ready() is for a started warm phase"
        loop = asyncio.get_running_loop()
        try:
            said = await asyncio.wait_for(loop.sock_recv(self._control, 1), SETUP_SECONDS)
        except (TimeoutError, OSError) as exc:
            raise PlatformFault(f"the warm sandbox did not get ready: {exc!r}") from exc
        if said != b"r":
            raise PlatformFault("the warm sandbox's interpreter ended before it was ready")

    def discard(self, ctx: SandboxContext) -> None:
        """Kill a warm sandbox nobody claimed; what it leaves is removed in the background."""
        self._finished = True
        self._kill(with_bwrap=True)
        ctx.cleanups.later(self._cleanup)

    def alive(self) -> bool:
        """Whether the started sandbox still waits (a warm one may have been killed)."""
        return self._proc is not None and self._proc.returncode is None and not self._finished

    def memory_bytes(self) -> int:
        return self._cgroup.memory_bytes() if self._cgroup is not None else 0

    async def start(self, ctx: SandboxContext) -> bool:
        """Build the sandbox and let its command start; False when cancelled before that."""
        if self._cancel_requested():
            return False
        proc, status = await self._spawn(ctx)
        self.watch.lap("spawn")
        # Made while bubblewrap builds the sandbox on another core; its init waits at the block.
        try:
            limits = cgroup_limits(self.spec.limits, background=self.warm)
            self._cgroup = ctx.cgroups.create(self.cgroup_name, limits)
        except CgroupError as exc:
            raise PlatformFault(f"cannot create the sandbox cgroup: {exc}") from exc
        self.watch.lap("cgroup")
        child = await self._child_pid(proc, status)
        self.watch.lap("child")
        # In a thread: on cgroup v1 the first move into a cgroup after a pause waits for an RCU
        # grace period (~10 ms measured), which must not stall every other sandbox's I/O.
        try:
            await asyncio.to_thread(self._confine, child)
        except PlatformFault as exc:  # most often bwrap failed its setup; it says why
            raise PlatformFault(await self._setup_failure(proc, str(exc))) from exc
        self.watch.lap("confine")
        if self._cancel_requested():  # cancelled while the sandbox was being built
            return False
        self._status_reader = status
        self._release()
        return True

    async def finish(self) -> PhaseOutcome:
        """Feed the started program, read its output and wait for its end, within its limits."""
        assert self._proc is not None, "finish() follows start()"
        assert self._status_reader is not None
        started_at = time.monotonic()
        stdout, stderr, (exit_status, started, wall) = await self._communicate(
            self._proc, self._status_reader, started_at
        )
        usage = self._cgroup.usage() if self._cgroup else CgroupUsage()
        usage = dataclasses.replace(usage, cpu_seconds=max(0.0, usage.cpu_seconds - self._cpu_base))
        return PhaseOutcome(
            stdout, stderr, exit_status, started, usage, wall, stop_reason=self.stop_reason
        )

    async def _spawn(
        self, ctx: SandboxContext
    ) -> tuple[asyncio.subprocess.Process, asyncio.StreamReader]:
        # Never cancelled halfway: cancelled inside create_subprocess_exec, asyncio kills bwrap
        # and then waits for its pipes, which the blocked sandbox init holds open: forever.
        # A cancel waits here for the start; cleanup then kills the sandbox properly.
        self._starting = asyncio.create_task(self._start_bwrap(ctx))
        return await asyncio.shield(self._starting)

    async def _start_bwrap(
        self, ctx: SandboxContext
    ) -> tuple[asyncio.subprocess.Process, asyncio.StreamReader]:
        status_r, status_w = os.pipe()
        block_r, self._block_w = os.pipe()
        seccomp_r: int | None = None
        control_r: int | None = None
        command = list(self.spec.command)
        if self.warm:
            self._control, peer = socket.socketpair()
            self._control.setblocking(False)
            control_r = peer.detach()
            command.append(str(control_r))
        try:
            if ctx.seccomp is not None:
                seccomp_r, seccomp_w = os.pipe()
                os.write(seccomp_w, ctx.seccomp)  # a few hundred bytes: fits the pipe buffer
                os.close(seccomp_w)
            spec = BwrapSpec(
                bwrap=ctx.bwrap,
                command=command,
                sources=self.spec.sources,
                tmp=self.spec.tmp,
                shm_bytes=self.spec.limits.tmp_mb * MIB,
                env=self.spec.env,
                userns_fd=ctx.userns_fd,
                block_fd=block_r,
                status_fd=status_w,
                seccomp_fd=seccomp_r,
                root_entries=ctx.root_entries,
                binds=self.spec.binds,
                chdir=self.spec.chdir,
                dev_folder=ctx.dev_folder,
            )
            passed = (ctx.userns_fd, block_r, status_w, seccomp_r, control_r)
            fds = [fd for fd in passed if fd is not None]
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    *build_argv(spec),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    pass_fds=fds,
                    env=BWRAP_ENV,
                    start_new_session=True,
                )
            except OSError as exc:
                _close(status_r)
                raise PlatformFault(f"cannot start bubblewrap ({ctx.bwrap}): {exc}") from exc
        finally:
            for fd in (block_r, status_w, seccomp_r, control_r):
                _close(fd)
        # Read from only now: bwrap is already starting (its status waits in the pipe).
        status = asyncio.StreamReader()
        self._status, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(status), os.fdopen(status_r, "rb", buffering=0)
        )
        return self._proc, status

    async def _child_pid(
        self, proc: asyncio.subprocess.Process, status: asyncio.StreamReader
    ) -> int:
        try:
            line = await asyncio.wait_for(status.readline(), SETUP_SECONDS)
            child = int(json.loads(line)["child-pid"])
            self._pidfd = os.pidfd_open(child)
        except (TimeoutError, ValueError, KeyError, OSError) as exc:
            raise PlatformFault(
                await self._setup_failure(proc, "bubblewrap did not start")
            ) from exc
        return child

    async def _setup_failure(self, proc: asyncio.subprocess.Process, what: str) -> str:
        self._kill(with_bwrap=True)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), GRACE_SECONDS)
        except TimeoutError:
            err = b""
        detail = err.decode(errors="replace").strip()[-2000:]
        return f"{what}: {detail}" if detail else what

    def _confine(self, child: int) -> None:
        """Join the cgroups and set the rlimits of the (still blocked) sandbox init."""
        assert self._cgroup is not None
        try:
            self._cgroup.add(child)
            for limit, values in rlimits(self.spec.limits).items():
                resource.prlimit(child, limit, values)
        except (CgroupError, OSError) as exc:
            raise PlatformFault(f"cannot confine the sandbox: {exc}") from exc

    def _release(self) -> None:
        assert self._block_w is not None
        # EPIPE when the sandbox died during setup; the exit status tells the rest.
        with contextlib.suppress(BrokenPipeError):
            os.write(self._block_w, b"1")
        _close(self._block_w)
        self._block_w = None

    async def _communicate(
        self, proc: asyncio.subprocess.Process, status: asyncio.StreamReader, started_at: float
    ) -> tuple[Captured, Captured, tuple[int, bool, float]]:
        cap = self.spec.limits.output_bytes

        def overflow() -> None:
            self.request_stop(StopReason.OUTPUT)

        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        sink = self.spec.output
        out = asyncio.create_task(
            read_capped(proc.stdout, cap, overflow, _to(sink, OutputStream.STDOUT))
        )
        err = asyncio.create_task(
            read_capped(proc.stderr, cap, overflow, _to(sink, OutputStream.STDERR))
        )
        feed = asyncio.create_task(feed_stdin(proc.stdin, self.spec.stdin, self.spec.live_stdin))
        self._tasks = [out, err, feed]
        ended = await self._supervise(status, started_at)
        wall = time.monotonic() - started_at
        self.watch.lap("program")
        # The program is gone; so must be whatever it left running (daemons would hold the
        # pipes open). bwrap itself (which holds the pipes too) is not waited for: cleanup
        # reaps it.
        if ended is None:
            self._kill()
        else:
            self._end_sandbox()
        try:
            stdout, stderr = await asyncio.wait_for(asyncio.gather(out, err), GRACE_SECONDS)
            if ended is None:  # bwrap never ran the program: its own status says why
                returncode = await asyncio.wait_for(proc.wait(), GRACE_SECONDS)
                return stdout, stderr, (returncode, False, wall)
        except TimeoutError as exc:
            raise PlatformFault("the sandbox did not go away after its program ended") from exc
        finally:
            self.watch.lap("reap")
        return stdout, stderr, (ended, True, wall)

    async def _supervise(self, status: asyncio.StreamReader, started_at: float) -> int | None:
        """Wait for the program to end while enforcing wall time, CPU time and stop requests.

        The end is bwrap's {"exit-code": N} status (written only when the program itself was
        executed), not bwrap's own exit: that waits for every process of the sandbox.
        """
        limits = self.spec.limits
        deadline = started_at + limits.wall_seconds
        ended = asyncio.create_task(_first_exit(status, self._control))
        stop = asyncio.create_task(self._stop.wait())
        killed_at: float | None = None
        try:
            while not ended.done():
                now = time.monotonic()
                waitables: set[asyncio.Task[Any]] = {ended}
                if killed_at is None:
                    waitables.add(stop)
                    timeout = max(0.0, min(POLL_SECONDS, deadline - now))
                else:
                    timeout = POLL_SECONDS
                await asyncio.wait(waitables, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if ended.done():
                    break
                if killed_at is None:
                    reason = self._due_stop(deadline, limits)
                    if reason is not None:
                        self.request_stop(reason)
                        self._kill()
                        killed_at = time.monotonic()
                else:
                    # Sweep stragglers until bwrap reports the end; if it does not, kill it too.
                    self._kill(with_bwrap=time.monotonic() - killed_at > GRACE_SECONDS)
        finally:
            stop.cancel()
            ended.cancel()  # no-op once done; never leave the reader pending
        self._finished = True
        return ended.result()

    def _due_stop(self, deadline: float, limits: Limits) -> StopReason | None:
        if self.stop_reason is not None:
            return self.stop_reason
        if time.monotonic() >= deadline:
            return StopReason.WALL
        if (
            self._cgroup is not None
            and self._cgroup.cpu_seconds() - self._cpu_base >= limits.cpu_seconds
        ):
            return StopReason.CPU
        return None

    # ------------------------------------------------------------------ cleanup

    async def _cleanup(self) -> None:
        if self._starting is not None:
            await asyncio.gather(self._starting, return_exceptions=True)
        proc = self._proc
        if proc is not None:
            if proc.returncode is None:
                self._kill(with_bwrap=True)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if proc.stdin is not None:
                proc.stdin.close()
            # Read what is left while waiting: the transport closes itself only at EOF.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(proc.wait(), _drain(proc.stdout), _drain(proc.stderr)),
                    GRACE_SECONDS,
                )
        # Only now, with bwrap gone, may the block be released (it would start the program).
        _close(self._block_w)
        self._block_w = None
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._status is not None:
            self._status.close()
        _close(self._pidfd)
        self._pidfd = None
        await self._remove_cgroup()
        self.watch.lap("cleanup")

    def _cleanup_now(self) -> None:
        """_cleanup without an event loop, for one whose task never ran (its loop ended)."""
        if self._proc is not None and self._proc.returncode is None:
            self._kill(with_bwrap=True)
        _close(self._block_w)
        self._block_w = None
        _close(self._pidfd)
        self._pidfd = None
        cgroup = self._cgroup
        if cgroup is None:
            return
        for _ in range(50):
            if cgroup.remove():
                return
            cgroup.kill_all()
            time.sleep(0.02)  # killed processes leave the cgroup asynchronously (bounded: 1 s)
        logger.warning("cgroup of %s still busy; left behind", self.spec.execution_id)

    async def _remove_cgroup(self) -> None:
        cgroup = self._cgroup
        if cgroup is None:
            return
        for _ in range(100):
            try:
                if cgroup.remove():
                    return
            except CgroupError:
                logger.exception("cannot remove the cgroup of %s", self.spec.execution_id)
                return
            cgroup.kill_all()
            await asyncio.sleep(0.02)  # killed processes leave the cgroup asynchronously
        logger.warning("cgroup of %s still busy; left behind", self.spec.execution_id)
