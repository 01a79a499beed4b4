"""One execution: its folder and tmpfs, the compile phase (if any), the run phase, its outputs.

Each phase is its own sandbox (phase.py) with its own cgroup and limits: the compile step's fixed
limits from the catalogue, then the caller's. Both see the same read-only sources and the same
size-capped /tmp, which is how the compiled program reaches the run step and how the files the
program leaves in /tmp/out are read after it has ended.
"""

import asyncio
import logging
import os
from pathlib import Path

from sandpod.adapters.sandbox.bwrap import SOURCE_DIR, WORKDIR
from sandpod.adapters.sandbox.collect import OutputCaps, collect_outputs
from sandpod.adapters.sandbox.commands import (
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
from sandpod.adapters.sandbox.timing import Stopwatch
from sandpod.adapters.sandbox.toolchains import Toolchain
from sandpod.adapters.sandbox.warm import WarmSandbox, warm_program
from sandpod.adapters.sandbox.workdir import Workdir
from sandpod.domain.files import OUTPUT_DIR
from sandpod.domain.limits import MIB, Limits
from sandpod.domain.result import CompileReport, EndReason, Result
from sandpod.ports import SandboxJob

logger = logging.getLogger(__name__)

# Up to this much to write, the folder is made on the event loop (~0.3 ms of system calls):
# the hop to a thread and back costs as much again. Larger inputs go to a thread.
INLINE_PREPARE_BYTES = 64 * 1024


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


class SandboxRun:
    def __init__(
        self,
        job: SandboxJob,
        toolchain: Toolchain,
        cgroup_name: str,
        caps: OutputCaps,
        warm: WarmSandbox | None = None,
    ) -> None:
        """With `warm`, the job runs in that started sandbox (warm.py) instead of a new one."""
        self.job = job
        self.toolchain = toolchain
        self.cgroup_name = cgroup_name
        self.caps = caps
        self._warm = warm
        self._phase: Phase | None = None
        self._preparing: asyncio.Future[Workdir] | None = None
        self._cancelled = False
        self._finished = False
        self._workdir: Workdir | None = warm.workdir if warm is not None else None
        self._claimed = False
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
            if self._warm is not None and not self._claimed:
                self._warm.phase.discard(ctx)
            if (workdir := self._workdir) is not None:
                # Cancelled or failed: the caller may look at once, so it is waited for.
                removal = ctx.cleanups.later(
                    lambda: asyncio.to_thread(workdir.remove),
                    fallback=workdir.remove,
                    awaited=not self._completed,
                )
                if not self._completed:
                    await asyncio.shield(removal)

    def _sources(self) -> list[tuple[str, bytes]]:
        files = self.job.files or ()
        return [(item.name, item.data()) for item in files] or [
            (entrypoint(self.job), self.job.script.encode("utf-8"))
        ]

    def _input_bytes(self) -> int:
        files = self.job.files or ()
        seeded = 1 << 30 if self.toolchain.tmp_seed else 0  # copying a folder: never inline
        return sum(len(item.content) for item in files) + len(self.job.script) + seeded

    def _prepare_workdir(self, root: Path, spare: Workdir | None = None) -> Workdir:
        workdir = spare or Workdir.make(
            root,
            f"{self.cgroup_name}-",
            self.job.limits.tmp_mb * MIB,
            seed=self.toolchain.tmp_seed,
        )
        self._workdir = workdir
        workdir.write_sources(self._sources())
        return workdir

    def _run_spec(self, env: dict[str, str], workdir: Workdir) -> PhaseSpec:
        return PhaseSpec(
            label="run",
            execution_id=self.job.execution_id,
            command=run_command(self.job, self.toolchain),
            limits=self.job.limits,
            stdin=self.job.stdin.encode("utf-8"),
            env=env,
            sources=workdir.sources,
            tmp=workdir.tmp,
            binds=self.toolchain.binds,
            output=self.job.output,
            live_stdin=self.job.live_stdin,
        )

    async def _run(self, ctx: SandboxContext) -> Result:
        if self._cancelled:
            return Result(end_reason=EndReason.CANCELLED, message="cancelled before it started")
        if self._warm is not None:
            return await self._run_warm(ctx, self._warm)
        if self._input_bytes() <= INLINE_PREPARE_BYTES:
            tmp_bytes = self.job.limits.tmp_mb * MIB
            spare = ctx.spares.take(tmp_bytes, self.toolchain) if ctx.spares else None
            workdir = self._prepare_workdir(ctx.sandbox_root, spare)
        else:
            self._preparing = asyncio.ensure_future(
                asyncio.to_thread(self._prepare_workdir, ctx.sandbox_root)
            )
            workdir = await asyncio.shield(self._preparing)
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
                sources=workdir.sources,
                tmp=workdir.tmp,
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
        ran = await self._phase_run(ctx, self._run_spec(env, workdir), "r")
        if ran is None:
            return Result(end_reason=EndReason.CANCELLED, message="cancelled before it started")
        return await self._finish(ran, report, workdir)

    async def _run_warm(self, ctx: SandboxContext, warm: WarmSandbox) -> Result:
        """The job's files into the started sandbox's folder, then the sandbox told what to
        run (Phase.claim sets the job's limits before that)."""
        warm.workdir.write_sources(self._sources())
        self.watch.lap("prepare")
        phase = warm.phase
        phase.watch = self.watch
        self._phase = phase
        self._claimed = True  # from here the phase cleans itself up (guarded)
        try:
            spec = self._run_spec(dict(warm.env), warm.workdir)
            ran = await phase.guarded(
                ctx, phase.claim(spec, warm_program(self.job, self.toolchain))
            )
        finally:
            self._phase = None
        assert ran is not None  # a claimed warm sandbox always runs its program
        return await self._finish(ran, None, warm.workdir)

    async def _finish(
        self, ran: PhaseOutcome, report: CompileReport | None, workdir: Workdir
    ) -> Result:
        result = self._result(ran, report)
        if result.end_reason is EndReason.PLATFORM_ERROR:
            return result
        out = workdir.tmp / Path(OUTPUT_DIR).relative_to(WORKDIR)
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
