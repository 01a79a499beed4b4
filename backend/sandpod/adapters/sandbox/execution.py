"""One execution: its folder and tmpfs, the compile phase (if any), the run phase, its outputs.

Each phase is its own sandbox (phase.py) with its own cgroup and limits: the compile step's fixed
limits from the catalogue, then the caller's. Both see the same read-only sources and the same
size-capped /tmp, which is how the compiled program reaches the run step and how the files the
program leaves in /tmp/out are read after it has ended.
"""

import asyncio
import contextlib
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path

from sandpod.adapters.sandbox.bwrap import SANDBOX_GID, SANDBOX_UID, SOURCE_DIR, WORKDIR
from sandpod.adapters.sandbox.collect import OutputCaps, collect_outputs
from sandpod.adapters.sandbox.commands import (
    BUILD_DIR,
    compile_command,
    compile_limits,
    entrypoint,
    environment,
    refused_options,
    run_command,
)
from sandpod.adapters.sandbox.outcome import (
    ProgramExit,
    StopReason,
    decode_exit_status,
    describe_end,
)
from sandpod.adapters.sandbox.phase import (
    Phase,
    PhaseOutcome,
    PhaseSpec,
    PlatformFault,
    SandboxContext,
)
from sandpod.adapters.sandbox.scratch import ScratchError, mount_scratch, unmount_scratch
from sandpod.adapters.sandbox.timing import Stopwatch
from sandpod.adapters.sandbox.toolchains import Toolchain
from sandpod.domain.files import OUTPUT_DIR
from sandpod.domain.limits import MIB, Limits
from sandpod.domain.result import CompileReport, EndReason, Result
from sandpod.ports import SandboxJob

logger = logging.getLogger(__name__)

# Up to this much to write, the folder is made on the event loop (~0.3 ms of system calls):
# the hop to a thread and back costs as much again. Larger inputs go to a thread.
INLINE_PREPARE_BYTES = 64 * 1024


def _check_private(root: Path) -> None:
    """The sandbox root (under /tmp by default) must not be someone else's: whoever controls
    it could swap an execution folder for a link before bwrap mounts the sources."""
    info = root.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise PlatformFault(
            f"sandbox root {root} must be a directory owned by this user and writable by no "
            "one else"
        )


def compile_failure(outcome: PhaseOutcome, limits: Limits) -> str | None:
    """Why the compile step failed, or None when it succeeded."""
    if outcome.stop_reason in (StopReason.WALL, StopReason.CPU):
        return f"compilation exceeded its time limit ({limits.wall_seconds:g} s wall)"
    if outcome.stop_reason is StopReason.OUTPUT:
        return f"the compiler wrote more than {limits.output_bytes} bytes"
    if outcome.usage.oom_kills > 0:
        return f"compilation ran out of memory ({limits.memory_mb} MiB)"
    code = decode_exit_status(outcome.exit_status)
    if code == 0:
        return None
    return f"compilation failed (exit code {code})"


def compile_report(outcome: PhaseOutcome) -> CompileReport:
    output = outcome.stdout.text() + outcome.stderr.text()
    return CompileReport(
        exit_code=decode_exit_status(outcome.exit_status),
        output=output,
        output_truncated=outcome.stdout.truncated or outcome.stderr.truncated,
        wall_seconds=round(outcome.wall, 4),
        cpu_seconds=round(outcome.usage.cpu_seconds, 4),
        peak_memory_bytes=outcome.usage.peak_memory_bytes,
    )


def _empty_folder(path: Path) -> bool:
    """A real folder with no entries (a link in its place is for collect_outputs to refuse)."""
    try:
        with os.scandir(path) as entries:
            return not path.is_symlink() and next(entries, None) is None
    except OSError:
        return False


def _seed(source: Path, dest: Path) -> None:
    """Copy a prepared folder into the sandbox's /tmp (counts against its size), as its user."""
    shutil.copytree(source, dest, symlinks=True)
    for path in [dest, *dest.rglob("*")]:
        os.chown(path, SANDBOX_UID, SANDBOX_GID, follow_symlinks=False)


class SandboxRun:
    def __init__(
        self, job: SandboxJob, toolchain: Toolchain, cgroup_name: str, caps: OutputCaps
    ) -> None:
        self.job = job
        self.toolchain = toolchain
        self.cgroup_name = cgroup_name
        self.caps = caps
        self._phase: Phase | None = None
        self._preparing: asyncio.Future[tuple[Path, Path]] | None = None
        self._cancelled = False
        self._finished = False
        self._workdir: Path | None = None
        self._tmp: Path | None = None
        self._completed = False
        self.watch = Stopwatch()

    def cancel(self) -> bool:
        """Stop the execution (whichever phase runs); False once the program has ended."""
        if self._finished:
            return False
        self._cancelled = True
        if self._phase is not None:
            self._phase.cancel()
        return True

    async def run(self, ctx: SandboxContext) -> Result:
        try:
            result = await self._run(ctx)
            self._completed = True
            return result
        finally:
            self._finished = True
            if self._preparing is not None:  # a cancel does not stop the thread making it
                await asyncio.gather(self._preparing, return_exceptions=True)
            removal = ctx.cleanups.later(asyncio.to_thread(self._remove_workdir))
            if not self._completed:  # cancelled or failed: the caller may look at once
                await asyncio.shield(removal)

    async def _run(self, ctx: SandboxContext) -> Result:
        if self._cancelled:
            return Result(end_reason=EndReason.CANCELLED, message="cancelled before it started")
        if self._input_bytes() <= INLINE_PREPARE_BYTES:
            sources, tmp = self._prepare_workdir(ctx.sandbox_root)
        else:
            self._preparing = asyncio.ensure_future(
                asyncio.to_thread(self._prepare_workdir, ctx.sandbox_root)
            )
            sources, tmp = await asyncio.shield(self._preparing)
        self.watch.lap("prepare")
        env = environment(self.job.runtime, self.toolchain, self.job.limits.memory_mb)
        report: CompileReport | None = None
        refused = refused_options(self.job)
        if refused:
            # The API checks the allow-list; a job that skipped it never reaches a compiler.
            return Result(
                end_reason=EndReason.COMPILE_ERROR,
                message=f"compiler option(s) not allowed: {' '.join(refused)}",
            )
        compile_argv = compile_command(self.job, self.toolchain)
        if compile_argv is not None:
            limits = compile_limits(self.job)
            spec = PhaseSpec(
                label="compile",
                execution_id=self.job.execution_id,
                command=compile_argv,
                limits=limits,
                stdin=b"",
                env=env,
                sources=sources,
                tmp=tmp,
                binds=self.toolchain.binds,
                chdir=SOURCE_DIR,
            )
            built = await self._phase_run(ctx, spec, "c")
            if built is None:
                return Result(end_reason=EndReason.CANCELLED, message="cancelled while compiling")
            if not built.started:
                raise PlatformFault(
                    "the sandbox failed to start the compiler: "
                    + built.stderr.text().strip()[-2000:]
                )
            report = compile_report(built)
            failure = compile_failure(built, limits)
            if failure is not None:
                return Result(
                    end_reason=EndReason.COMPILE_ERROR,
                    exit_code=report.exit_code,
                    stdout=built.stdout.text(),
                    stderr=built.stderr.text(),
                    stdout_truncated=built.stdout.truncated,
                    stderr_truncated=built.stderr.truncated,
                    wall_seconds=report.wall_seconds,
                    cpu_seconds=report.cpu_seconds,
                    peak_memory_bytes=report.peak_memory_bytes,
                    message=failure,
                    compile=report,
                )
        spec = PhaseSpec(
            label="run",
            execution_id=self.job.execution_id,
            command=run_command(self.job, self.toolchain),
            limits=self.job.limits,
            stdin=self.job.stdin.encode("utf-8"),
            env=env,
            sources=sources,
            tmp=tmp,
            binds=self.toolchain.binds,
            output=self.job.output,
            live_stdin=self.job.live_stdin,
        )
        ran = await self._phase_run(ctx, spec, "r")
        if ran is None:
            return Result(end_reason=EndReason.CANCELLED, message="cancelled before it started")
        result = self._result(ran, report)
        if result.end_reason is EndReason.PLATFORM_ERROR:
            return result
        out = tmp / Path(OUTPUT_DIR).relative_to(WORKDIR)
        if _empty_folder(out):  # most programs leave nothing: no thread hop for that
            return result
        kept, truncated = await asyncio.to_thread(collect_outputs, out, self.caps)
        self.watch.lap("collect")
        return result.with_stored_files(kept, truncated=truncated)

    async def _phase_run(
        self, ctx: SandboxContext, spec: PhaseSpec, suffix: str
    ) -> PhaseOutcome | None:
        if self._cancelled:
            return None
        phase = Phase(spec, f"{self.cgroup_name}{suffix}", self.watch)
        self._phase = phase
        try:
            return await phase.run(ctx)
        finally:
            self._phase = None

    def _input_bytes(self) -> int:
        files = self.job.files or ()
        seeded = 1 << 30 if self.toolchain.tmp_seed else 0  # copying a folder: never inline
        return sum(len(item.content) for item in files) + len(self.job.script) + seeded

    def _prepare_workdir(self, root: Path) -> tuple[Path, Path]:
        """sources/ (the files, world-readable: the sandbox user reads them through a bind
        mount) and tmp/ (a tmpfs of the execution's tmp size, the sandbox's /tmp)."""
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            _check_private(root)
            # mkdtemp makes it 0700: only root on the host may enter.
            self._workdir = Path(tempfile.mkdtemp(prefix=f"{self.cgroup_name}-", dir=root))
            sources = self._workdir / "sources"
            sources.mkdir(mode=0o755)
            files = self.job.files or ()
            written = [(item.name, item.data()) for item in files] or [
                (entrypoint(self.job), self.job.script.encode("utf-8"))
            ]
            for name, data in written:
                path = sources / name
                path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                path.write_bytes(data)
                path.chmod(0o444)
            tmp = self._workdir / "tmp"
            tmp.mkdir(mode=0o700)
            mount_scratch(tmp, self.job.limits.tmp_mb * MIB, SANDBOX_UID, SANDBOX_GID)
            self._tmp = tmp
            # Made here so neither the compiler nor the program has to.
            for folder in (BUILD_DIR, OUTPUT_DIR):
                made = tmp / Path(folder).relative_to(WORKDIR)
                made.mkdir(mode=0o755)
                os.chown(made, SANDBOX_UID, SANDBOX_GID)
            for dest, source in self.toolchain.tmp_seed.items():
                _seed(source, tmp / dest)
        except ScratchError as exc:
            raise PlatformFault(str(exc)) from exc
        except OSError as exc:
            raise PlatformFault(f"cannot prepare the sandbox folder in {root}: {exc}") from exc
        return sources, tmp

    def _remove_workdir(self) -> None:
        if self._tmp is not None:
            try:
                unmount_scratch(self._tmp)
            except ScratchError:
                logger.exception("cannot unmount the tmpfs of %s", self.job.execution_id)
                return  # never delete through a mount that is still there
            self._tmp = None
        if self._workdir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._workdir)
            self._workdir = None

    def _result(self, ran: PhaseOutcome, report: CompileReport | None) -> Result:
        outcome = ProgramExit(
            limits=self.job.limits,
            exit_status=ran.exit_status,
            started=ran.started,
            stop_reason=ran.stop_reason,
            usage=ran.usage,
            stdout_truncated=ran.stdout.truncated,
            stderr_truncated=ran.stderr.truncated,
        )
        reason, code, message = describe_end(outcome)
        if reason is EndReason.PLATFORM_ERROR:
            detail = ran.stderr.text().strip()[-2000:]
            message = message or "the sandbox failed"
            return Result.platform_error(f"{message}: {detail}" if detail else message)
        return Result(
            end_reason=reason,
            exit_code=code,
            stdout=ran.stdout.text(),
            stderr=ran.stderr.text(),
            stdout_truncated=ran.stdout.truncated,
            stderr_truncated=ran.stderr.truncated,
            wall_seconds=round(ran.wall, 4),
            cpu_seconds=round(ran.usage.cpu_seconds, 4),
            peak_memory_bytes=ran.usage.peak_memory_bytes,
            message=message,
            compile=report,
        )
