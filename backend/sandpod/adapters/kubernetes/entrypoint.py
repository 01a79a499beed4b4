"""sandpod's in-pod entrypoint: run one script under limits and report through a channel it owns.

STANDALONE: standard library only, no sandpod imports, runs on every runtime's Python (3.11+). It is
copied into the runtime images (runtimes/python/Dockerfile) and runs as the container's PID 1:

    python3.12 -I -S /opt/sandpod/entrypoint.py --wall-seconds 10 ... -- python3.12 -I -u main.py

Why the result cannot be forged by the script:
- The script's stdout and stderr are pipes to this process; user bytes never reach the container
  log raw. After the script and every process it started are dead, this process writes ONE block to
  its own stdout: length-prefixed frames whose payload is base64(zlib(bytes)), so user output (fake
  frame markers, binary, anything) is opaque payload.
- It then writes a short JSON summary (exit code, times, truncation flags, and the sha256, byte and
  line count of the block) to /dev/termination-log. The monitor reads exactly those last lines of
  the log and accepts them only when the digest matches.
- As PID 1 it makes itself non-dumpable (so the script cannot open /proc/1/fd/1 to write into the
  log) and kills every other process in the container (kill(-1)) before writing either record, so
  nothing the script left behind can write after it.

Block format (v1), ASCII only, lines of at most LINE_CHARS characters:

    SANDPOD1 stdout <raw byte count> <encoded char count>
    <base64 lines>
    SANDPOD1 stderr <raw byte count> <encoded char count>
    <base64 lines>
    SANDPOD1 compile <raw byte count> <encoded char count>      (runtimes with a compile step)
    <base64 lines>
    SANDPOD1 file <hex of the name> <raw byte count> <encoded char count>   (one per kept file)
    <base64 lines>
    SANDPOD1 end

With --compile, the compiler runs first under its own wall/CPU/memory limits; when it fails the
program never runs, the outcome is `compile_error` and stdout/stderr hold the compiler's output.
With --output-dir, the regular files the program left there (links never followed) are sent
back up to a count and byte cap; what is left out sets `files_truncated`.

With --live, the run phase's output is also written as it is read, before the block, one line per
piece (the runner follows the pod log for live output; the block stays the result):

    SANDPOD1 live <stdout|stderr> <more|cut> <base64 of the kept bytes>

`cut` marks the piece where the output cap cut the stream. The same guarantees hold: user bytes are
only base64 payload, and nothing but this process writes to the log.

Warm pods (`--warm DIR`, the warm pod pool): the pod starts ahead of need with only this process
running, and its job arrives on its stdin, which only the runner can write (an attach through the
API server; `stdinOnce`, so one session only):

    SANDPOD1 job <byte count>
    {"argv": [the arguments a cold pod gets, from --wall-seconds on], "files": {"path": base64}}

The files (the program and its stdin, as a cold pod's ConfigMap holds them) are written into DIR,
stdin is closed, `SANDPOD1 started` is written, and the run goes on exactly as a cold one. The
report adds one line before the block, so the runner reading the attached stdout has the whole
result without waiting for the pod's status (the termination log still gets the summary, for the
pod monitor):

    SANDPOD1 summary <the termination message's JSON>
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import dataclasses
import hashlib
import json
import math
import os
import re
import resource
import selectors
import signal
import stat
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

FORMAT_VERSION = 1
MAGIC = "SANDPOD1"
STREAMS = ("stdout", "stderr")
LINE_CHARS = 4000  # far below containerd's 16 KiB line split
TERMINATION_LOG_LIMIT = 4096  # what the kubelet keeps of a termination message
TERMINATION_LOG = "/dev/termination-log"
MESSAGE_CHARS = 512
READ_CHUNK = 64 * 1024
DRAIN_SECONDS = 1.0  # how long to wait for pipes still held open after everything was killed
POLL_SECONDS = 0.05

# How the script ended, as written into the summary.
EXITED = "exited"
WALL_LIMIT = "wall_limit"
CPU_LIMIT = "cpu_limit"
OUTPUT_LIMIT = "output_limit"
MEMORY_LIMIT = "memory_limit"
ERROR = "error"
COMPILE_ERROR = "compile_error"
OUTCOMES = (EXITED, WALL_LIMIT, CPU_LIMIT, OUTPUT_LIMIT, MEMORY_LIMIT, ERROR, COMPILE_ERROR)
COMPILE_FRAME = "compile"
FILE_FRAME = "file"
LIVE_FRAME = "live"
JOB_FRAME = "job"
SUMMARY_FRAME = "summary"
STARTED_FRAME = "started"  # a warm pod's first line once it has its job
MAX_JOB_BYTES = 4 * 1024 * 1024  # what a warm pod accepts on stdin (a cold pod's ConfigMap: 1 MiB)
LIVE_MORE = "more"
LIVE_CUT = "cut"
_LIVE_PIECE = (LINE_CHARS - 64) // 4 * 3  # raw bytes per live line, whose base64 fits a line
# Output file names: relative paths of plain parts (the monitor checks them again).
_FILE_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,99}$")
MAX_FILE_NAME = 255

# The container's own exit code per outcome (so `kubectl get pods` tells them apart); the monitor
# checks it equals the summary's `container_exit`.
_CONTAINER_EXIT = {
    WALL_LIMIT: 124,
    CPU_LIMIT: 124,
    OUTPUT_LIMIT: 125,
    MEMORY_LIMIT: 137,
    ERROR: 70,
    COMPILE_ERROR: 65,
}

_PR_SET_DUMPABLE = 4
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class Capture:
    """One output stream, kept up to `cap` bytes."""

    cap: int
    data: bytearray = field(default_factory=bytearray)
    truncated: bool = False

    def add(self, chunk: bytes) -> bool:
        """Keep what fits; True when the stream went over the cap."""
        room = self.cap - len(self.data)
        self.data += chunk[: max(room, 0)]
        if len(chunk) > room:
            self.truncated = True
        return self.truncated


@dataclass
class Outcome:
    kind: str
    exit_code: int | None = None
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory_bytes: int = 0
    message: str | None = None
    captures: dict[str, Capture] = field(default_factory=dict)
    compiled: Outcome | None = None  # the compile step's own outcome, when there was one
    files: list[tuple[str, bytes]] = field(default_factory=list)
    files_truncated: bool = False

    @property
    def container_exit(self) -> int:
        if self.kind != EXITED:
            return _CONTAINER_EXIT[self.kind]
        code = self.exit_code or 0
        return 128 - code if code < 0 else min(code, 255)


# ------------------------------------------------------------------------------------ framing
def encode_frames(streams: Sequence[tuple[str, bytes]]) -> bytes:
    """The block written to the container log: one length-prefixed frame per stream, then `end`.

    A stream named `file <hex name>` is a kept output file."""
    parts: list[bytes] = []
    for name, raw in streams:
        encoded = base64.b64encode(zlib.compress(raw, 6))
        parts.append(f"{MAGIC} {name} {len(raw)} {len(encoded)}\n".encode("ascii"))
        parts.extend(
            encoded[i : i + LINE_CHARS] + b"\n" for i in range(0, len(encoded), LINE_CHARS)
        )
    parts.append(f"{MAGIC} end\n".encode("ascii"))
    return b"".join(parts)


def build_summary(outcome: Outcome, block: bytes) -> str:
    """The termination message: small JSON that authenticates the block (kept under 4096 bytes)."""
    captures = outcome.captures
    summary: dict[str, object] = {
        "v": FORMAT_VERSION,
        "outcome": outcome.kind,
        "exit_code": outcome.exit_code,
        "container_exit": outcome.container_exit,
        "wall_seconds": round(outcome.wall_seconds, 6),
        "cpu_seconds": round(outcome.cpu_seconds, 6),
        "peak_memory_bytes": outcome.peak_memory_bytes,
        "stdout_truncated": bool(captures.get("stdout") and captures["stdout"].truncated),
        "stderr_truncated": bool(captures.get("stderr") and captures["stderr"].truncated),
        "frames_sha256": hashlib.sha256(block).hexdigest(),
        "frames_bytes": len(block),
        "frames_lines": block.count(b"\n"),
        "message": (outcome.message or "")[:MESSAGE_CHARS] or None,
        "files_truncated": outcome.files_truncated,
    }
    if outcome.compiled is not None:
        built = outcome.compiled
        compile_capture = built.captures.get(COMPILE_FRAME)
        summary["compile"] = {
            "outcome": built.kind,
            "exit_code": built.exit_code,
            "wall_seconds": round(built.wall_seconds, 6),
            "cpu_seconds": round(built.cpu_seconds, 6),
            "peak_memory_bytes": built.peak_memory_bytes,
            "output_truncated": bool(compile_capture and compile_capture.truncated),
        }
    text = json.dumps(summary, separators=(",", ":"), sort_keys=True)
    if len(text.encode()) > TERMINATION_LOG_LIMIT:  # only a pathological message can get here
        summary["message"] = None
        text = json.dumps(summary, separators=(",", ":"), sort_keys=True)
    return text


# ------------------------------------------------------------------------------- process control
def _make_undumpable() -> None:
    """Close /proc/<our pid>/fd to same-uid processes: the script cannot write into our stdout."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux or no libc symbol: the digest still protects
        pass


def _child_setup(cpu_seconds: float, file_size_bytes: int) -> Callable[[], None]:
    soft = max(1, math.ceil(cpu_seconds))

    def setup() -> None:
        # Runs in the child between fork and exec: per-process backstops (cgroups cover the rest).
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_bytes, file_size_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:  # make the script, not this process, the OOM killer's first choice
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")
        except OSError:
            pass

    return setup


def _kill_everything(proc: subprocess.Popen[bytes]) -> None:
    if os.getpid() == 1:
        # As the container's init, kill(-1) reaches every other process in the pid namespace,
        # including ones that left our process group with setsid(). Never do this outside PID 1.
        with contextlib.suppress(OSError):
            os.kill(-1, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)


def _reap_orphans() -> None:
    # Orphans are re-parented to PID 1; reap them so their CPU time lands in RUSAGE_CHILDREN.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _read_number(path: str, key: str | None = None) -> int | None:
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    if key is None:
        return int(text.strip()) if text.strip().isdigit() else None
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


def cgroup_cpu_seconds(root: str = "/sys/fs/cgroup") -> float | None:
    """The container's CPU time (all processes), from cgroup v2 or v1; None when unreadable."""
    usec = _read_number(f"{root}/cpu.stat", "usage_usec")
    if usec is not None:
        return usec / 1e6
    for v1 in ("cpuacct", "cpu,cpuacct"):
        nsec = _read_number(f"{root}/{v1}/cpuacct.usage")
        if nsec is not None:
            return nsec / 1e9
    return None


def cgroup_memory(root: str = "/sys/fs/cgroup") -> tuple[int, int] | None:
    """(current, peak) bytes of this container's cgroup memory (v2 or v1); None if unreadable."""
    for current, peak in (
        (f"{root}/memory.current", f"{root}/memory.peak"),
        (f"{root}/memory/memory.usage_in_bytes", f"{root}/memory/memory.max_usage_in_bytes"),
    ):
        now, most = _read_number(current), _read_number(peak)
        if now is not None and most is not None:
            return now, most
    return None


def cgroup_oom_kills(root: str = "/sys/fs/cgroup") -> int | None:
    """How many processes the OOM killer took in this container's cgroup (v2 or v1)."""
    count = _read_number(f"{root}/memory.events", "oom_kill")
    if count is None:
        count = _read_number(f"{root}/memory/memory.oom_control", "oom_kill")
    return count


# ------------------------------------------------------------------------------------ the run
@dataclass(frozen=True)
class Options:
    command: list[str]
    wall_seconds: float
    cpu_seconds: float
    output_bytes: int
    file_size_bytes: int
    stdin_path: str | None
    termination_log: str
    cgroup_accounting: bool
    env: dict[str, str] = field(default_factory=dict)
    memory_bytes: int | None = None  # the run's own memory limit inside a larger pod limit
    compile_command: list[str] | None = None
    compile_wall_seconds: float = 0.0
    compile_cpu_seconds: float = 0.0
    compile_memory_bytes: int | None = None
    compile_file_size_bytes: int | None = None
    output_dir: str | None = None
    output_files_max_count: int = 0
    output_files_max_bytes: int = 0
    make_dirs: tuple[str, ...] = ()  # made before the first phase (the compile step's output)
    live: bool = False  # also write the run phase's output as it is read (live lines)

    def script_env(self) -> dict[str, str]:
        """PATH from the image plus what the pod spec passed with --env, nothing else.

        The container's own environment is not handed down: the kubelet adds the `kubernetes`
        service's variables (KUBERNETES_SERVICE_HOST, ...) whatever enableServiceLinks says.
        """
        return {"PATH": os.environ.get("PATH", DEFAULT_PATH), **self.env}


def supervise(opts: Options) -> Outcome:
    """Compile (when asked), run, keep the output files; never raises for what the script does."""
    for folder in (*opts.make_dirs, opts.output_dir):
        if folder:
            with contextlib.suppress(OSError):
                os.makedirs(folder, exist_ok=True)
    compiled: Outcome | None = None
    if opts.compile_command:
        compiled = run_phase(
            dataclasses.replace(
                opts,
                command=opts.compile_command,
                wall_seconds=opts.compile_wall_seconds,
                cpu_seconds=opts.compile_cpu_seconds,
                memory_bytes=opts.compile_memory_bytes,
                file_size_bytes=opts.compile_file_size_bytes or opts.file_size_bytes,
                stdin_path=None,
            )
        )
        output = b"".join(bytes(compiled.captures[name].data) for name in STREAMS)
        compile_capture = Capture(opts.output_bytes, bytearray(output[: opts.output_bytes]))
        compile_capture.truncated = len(output) > opts.output_bytes or any(
            capture.truncated for capture in compiled.captures.values()
        )
        if compiled.kind == ERROR:
            return compiled
        if compiled.kind != EXITED or compiled.exit_code != 0:
            why = compiled.message or f"compilation failed (exit code {compiled.exit_code})"
            failed = dataclasses.replace(compiled, kind=COMPILE_ERROR, message=why)
            failed.captures = {**compiled.captures, COMPILE_FRAME: compile_capture}
            failed.compiled = dataclasses.replace(
                compiled, captures={COMPILE_FRAME: compile_capture}
            )
            return failed
        compiled.captures = {COMPILE_FRAME: compile_capture}
    outcome = run_phase(opts)
    outcome.compiled = compiled
    if compiled is not None:
        outcome.captures[COMPILE_FRAME] = compiled.captures[COMPILE_FRAME]
    if opts.output_dir and outcome.kind != ERROR:
        outcome.files, outcome.files_truncated = collect_files(
            opts.output_dir, opts.output_files_max_count, opts.output_files_max_bytes
        )
    return outcome


def _file_name_ok(name: str) -> bool:
    if not name or len(name) > MAX_FILE_NAME:
        return False
    return all(_FILE_PART.match(part) for part in name.split("/"))


def _read_regular(directory_fd: int, name: str, room: int) -> bytes | None:
    """A regular file's bytes, if it holds at most `room`; links are never followed."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=directory_fd)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > room:
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(room + 1)
        return data if len(data) <= room else None
    finally:
        os.close(fd)


def collect_files(
    folder: str, max_count: int, max_bytes: int
) -> tuple[list[tuple[str, bytes]], bool]:
    """The files the program left in `folder` (sorted by name) within the caps, and whether any
    were left out. The folder was written by the script: nothing in it is trusted."""
    kept: list[tuple[str, bytes]] = []
    truncated = False
    used = 0
    if os.path.islink(folder) or not os.path.isdir(folder):
        return kept, os.path.islink(folder)
    for directory, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        relative = os.path.relpath(directory, folder)
        try:
            directory_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            truncated = True
            continue
        try:
            for name in sorted(names):
                path = name if relative == "." else f"{relative}/{name}"
                if not _file_name_ok(path) or len(kept) >= max_count:
                    truncated = True
                    continue
                data = _read_regular(directory_fd, name, max_bytes - used)
                if data is None:
                    truncated = True
                    continue
                used += len(data)
                kept.append((path, data))
        finally:
            os.close(directory_fd)
    return kept, truncated


def run_phase(opts: Options) -> Outcome:
    """Run one command to its end under the limits in `opts`."""
    captures = {name: Capture(opts.output_bytes) for name in STREAMS}
    cpu_base = cgroup_cpu_seconds() if opts.cgroup_accounting else None
    ooms_before = cgroup_oom_kills() if opts.cgroup_accounting else None
    memory_base = cgroup_memory() if opts.cgroup_accounting else None
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    try:
        with open(opts.stdin_path or os.devnull, "rb") as stdin:
            proc = subprocess.Popen(  # noqa: S603  (argv from our own pod spec, no shell)
                opts.command,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env=opts.script_env(),
                preexec_fn=_child_setup(opts.cpu_seconds, opts.file_size_bytes),
            )
    except (OSError, subprocess.SubprocessError) as exc:
        return Outcome(ERROR, message=f"cannot start {opts.command[0]!r}: {exc}", captures=captures)

    killed_for = _pump(proc, opts, captures, started, cpu_base, memory_base)
    exit_code = proc.wait()
    wall = time.monotonic() - started
    _kill_everything(proc)
    _reap_orphans()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Children's times add up over phases: this phase's is the growth since it started.
    cpu = usage.ru_utime + usage.ru_stime - (usage_before.ru_utime + usage_before.ru_stime)
    # ru_maxrss is KiB, and counts the RSS of this process at fork time too; inside a container
    # the cgroup's growth since the spawn is closer to the script's own peak (RSS + page cache,
    # like the local runner reports), and its CPU time includes children nobody reaped.
    peak = usage.ru_maxrss * 1024
    ooms_after = cgroup_oom_kills() if opts.cgroup_accounting else None
    memory_after = cgroup_memory() if opts.cgroup_accounting else None
    if memory_base is not None and memory_after is not None:
        peak = max(0, memory_after[1] - memory_base[0])
    cpu_after = cgroup_cpu_seconds() if cpu_base is not None else None
    if cpu_base is not None and cpu_after is not None:
        cpu = max(cpu, cpu_after - cpu_base)

    kind = EXITED
    if killed_for is not None:
        kind = killed_for
    elif ooms_before is not None and ooms_after is not None and ooms_after > ooms_before:
        kind = MEMORY_LIMIT
    elif exit_code == -signal.SIGXCPU or (
        exit_code == -signal.SIGKILL and cpu >= math.ceil(opts.cpu_seconds)
    ):
        kind = CPU_LIMIT
    elif any(capture.truncated for capture in captures.values()):
        kind = OUTPUT_LIMIT  # it overflowed but exited before we could kill it: same verdict
    message = {
        WALL_LIMIT: f"wall time limit of {opts.wall_seconds:g}s exceeded",
        CPU_LIMIT: f"CPU time limit of {opts.cpu_seconds:g}s exceeded",
        OUTPUT_LIMIT: f"output limit of {opts.output_bytes} bytes per stream exceeded",
        MEMORY_LIMIT: "memory limit exceeded",
    }.get(kind)
    return Outcome(
        kind,
        exit_code=exit_code,
        wall_seconds=wall,
        cpu_seconds=cpu,
        peak_memory_bytes=peak,
        message=message,
        captures=captures,
    )


def _pump(
    proc: subprocess.Popen[bytes],
    opts: Options,
    captures: dict[str, Capture],
    started: float,
    cpu_base: float | None,
    memory_base: tuple[int, int] | None = None,
) -> str | None:
    """Copy the script's output into the captures until the pipes close; enforce wall/CPU/output.

    Returns why we killed the script, or None when it ended on its own.
    """
    if proc.stdout is None or proc.stderr is None:  # cannot happen: both are PIPE
        raise RuntimeError("the script's output pipes are missing")
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ, "stdout")
    selector.register(proc.stderr, selectors.EVENT_READ, "stderr")
    pidfd: int | None = None
    try:  # a pidfd tells us the moment the script exits, even if a child keeps the pipes open
        pidfd = os.pidfd_open(proc.pid)
        selector.register(pidfd, selectors.EVENT_READ, "exit")
    except (AttributeError, OSError):
        pidfd = None
    deadline = started + opts.wall_seconds
    killed_for: str | None = None
    drain_until: float | None = None  # set once everything was killed or the script exited
    exited = False

    def stop(reason: str | None) -> None:
        nonlocal killed_for, drain_until
        if reason is not None and killed_for is None and drain_until is None:
            killed_for = reason
        _kill_everything(proc)
        if drain_until is None:
            drain_until = time.monotonic() + DRAIN_SECONDS

    try:
        while True:
            pipes_open = any(key.data != "exit" for key in selector.get_map().values())
            if not pipes_open and (exited or drain_until is not None):
                break  # a script that closed its pipes early still runs to its end or its limit
            now = time.monotonic()
            if drain_until is None and now >= deadline:
                stop(WALL_LIMIT)
            if drain_until is not None and now >= drain_until:
                break  # something outside our reach still holds a pipe; keep what we have
            limit = drain_until if drain_until is not None else deadline
            timeout = max(0.0, limit - now)
            if pidfd is None or cpu_base is not None:
                timeout = min(timeout, POLL_SECONDS)
            for key, _ in selector.select(timeout):
                if key.data == "exit":
                    selector.unregister(key.fileobj)
                    exited = True
                    stop(None)
                    continue
                chunk = os.read(key.fd, READ_CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                capture = captures[key.data]
                kept_before, cut_before = len(capture.data), capture.truncated
                over = capture.add(chunk)
                if opts.live and not cut_before:
                    kept = bytes(capture.data[kept_before:])
                    _write_all(1, live_lines(key.data, kept, cut=capture.truncated))
                if over and drain_until is None:
                    stop(OUTPUT_LIMIT)
            if not exited and pidfd is None and proc.poll() is not None:
                exited = True
                stop(None)
            if drain_until is None and cpu_base is not None:
                used = cgroup_cpu_seconds()
                if used is not None and used - cpu_base > opts.cpu_seconds:
                    stop(CPU_LIMIT)
            if drain_until is None and memory_base is not None and opts.memory_bytes:
                # The pod's limit covers the larger phase; this phase's own limit is watched.
                memory = cgroup_memory()
                if memory is not None and memory[0] - memory_base[0] > opts.memory_bytes:
                    stop(MEMORY_LIMIT)
    finally:
        selector.close()
        proc.stdout.close()
        proc.stderr.close()
        if pidfd is not None:
            os.close(pidfd)
    if drain_until is None:  # pipes closed on their own: make sure nothing lingers
        stop(None)
    return killed_for


def live_lines(stream: str, data: bytes, *, cut: bool) -> bytes:
    """The live lines for one kept piece of a stream (`cut` on its last line)."""
    pieces = [data[start : start + _LIVE_PIECE] for start in range(0, len(data), _LIVE_PIECE)]
    pieces = pieces or [b""]  # a cut that kept nothing still says so
    lines = []
    for index, piece in enumerate(pieces):
        flag = LIVE_CUT if cut and index == len(pieces) - 1 else LIVE_MORE
        payload = base64.b64encode(piece).decode("ascii")
        lines.append(f"{MAGIC} {LIVE_FRAME} {stream} {flag} {payload}\n")
    return "".join(lines).encode("ascii")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def report(
    outcome: Outcome, termination_log: str, out_fd: int = 1, *, summary_line: bool = False
) -> None:
    """Write the frames to our stdout, then the summary to the termination log (in that order);
    with `summary_line` (warm pods) the summary goes to stdout too, just before the frames."""
    captures = outcome.captures
    frames = [(name, bytes(captures[name].data) if name in captures else b"") for name in STREAMS]
    if COMPILE_FRAME in captures:
        frames.append((COMPILE_FRAME, bytes(captures[COMPILE_FRAME].data)))
    frames += [(f"{FILE_FRAME} {name.encode().hex()}", data) for name, data in outcome.files]
    block = encode_frames(frames)
    summary = build_summary(outcome, block)
    if summary_line:
        _write_all(out_fd, f"{MAGIC} {SUMMARY_FRAME} {summary}\n".encode("ascii"))
    _write_all(out_fd, block)
    with open(termination_log, "w", encoding="utf-8") as f:  # truncates whatever the script wrote
        f.write(summary)


class JobError(ValueError):
    """A warm pod's job did not arrive whole, or is not what the runner sends."""


def _read_exactly(fd: int, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = os.read(fd, min(READ_CHUNK, count - len(data)))
        if not chunk:
            raise JobError(f"stdin ended after {len(data)} of {count} bytes of the job")
        data += chunk
    return bytes(data)


def _read_line(fd: int, limit: int = 64) -> bytes:
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte or len(line) >= limit:
            raise JobError("stdin ended or overflowed before the job's header line")
        line += byte
    return bytes(line)


def encode_job(argv: Sequence[str], files: dict[str, bytes]) -> bytes:
    """What the runner writes to a warm pod's stdin (receive_job reads it)."""
    body = json.dumps(
        {
            "argv": list(argv),
            "files": {name: base64.b64encode(data).decode("ascii") for name, data in files.items()},
        }
    ).encode()
    return f"{MAGIC} {JOB_FRAME} {len(body)}\n".encode("ascii") + body


def receive_job(directory: str, fd: int = 0) -> list[str]:
    """Read one job from `fd`, write its files into `directory`, close `fd`; the job's argv."""
    words = _read_line(fd).decode("ascii", errors="replace").split()
    if len(words) != 3 or words[:2] != [MAGIC, JOB_FRAME] or not words[2].isdigit():
        raise JobError(f"not a job header: {' '.join(words)[:80]!r}")
    size = int(words[2])
    if size > MAX_JOB_BYTES:
        raise JobError(f"the job takes {size} bytes; a warm pod accepts {MAX_JOB_BYTES}")
    try:
        job = json.loads(_read_exactly(fd, size))
        argv, files = job["argv"], job["files"]
        if not isinstance(argv, list) or not all(isinstance(word, str) for word in argv):
            raise JobError("the job's argv is not a list of strings")
        if not isinstance(files, dict):
            raise JobError("the job's files are not an object")
        contents = {
            str(name): base64.b64decode(data, validate=True) for name, data in files.items()
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise JobError(f"the job does not decode: {type(exc).__name__}: {exc}") from exc
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, fd)  # the attach stream writes nothing more into this process
    os.close(null)
    root = os.path.realpath(directory)
    for name, data in contents.items():
        path = os.path.realpath(os.path.join(root, name))
        if not path.startswith(root + os.sep):
            raise JobError(f"a job file leaves {directory}: {name!r}")
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o444)
    return argv


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(prog="sandpod-entrypoint")
    parser.add_argument("--wall-seconds", type=float, required=True)
    parser.add_argument("--cpu-seconds", type=float, required=True)
    parser.add_argument("--output-bytes", type=int, required=True)
    parser.add_argument("--file-size-bytes", type=int, required=True)
    parser.add_argument("--stdin", dest="stdin_path")
    parser.add_argument("--termination-log", default=TERMINATION_LOG)
    parser.add_argument(
        "--cgroup-accounting",
        action="store_true",
        help="watch the container cgroup's CPU time and OOM kills (only inside a container)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable for the script (repeatable); the script gets these and PATH only",
    )
    parser.add_argument("--memory-bytes", type=int, help="the run's own memory limit")
    parser.add_argument("--compile", dest="compile_command", help="the compiler's argv (JSON)")
    parser.add_argument("--compile-wall-seconds", type=float, default=0.0)
    parser.add_argument("--compile-cpu-seconds", type=float, default=0.0)
    parser.add_argument("--compile-memory-bytes", type=int)
    parser.add_argument("--compile-file-size-bytes", type=int)
    parser.add_argument("--make-dir", action="append", default=[], help="a folder to make first")
    parser.add_argument("--output-dir", help="send back the files the program leaves here")
    parser.add_argument("--output-files-max-count", type=int, default=0)
    parser.add_argument("--output-files-max-bytes", type=int, default=0)
    parser.add_argument("--live", action="store_true", help="write the output as it is read too")
    parser.add_argument("command", nargs="+", help="the interpreter argv, after --")
    ns = parser.parse_args(argv)
    env: dict[str, str] = {}
    for item in ns.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--env wants NAME=VALUE, got {item!r}")
        env[name] = value
    compile_command: list[str] | None = None
    if ns.compile_command is not None:
        compile_command = json.loads(ns.compile_command)
        if not isinstance(compile_command, list) or not all(
            isinstance(word, str) for word in compile_command
        ):
            parser.error("--compile wants a JSON list of strings")
    return Options(
        command=list(ns.command),
        wall_seconds=ns.wall_seconds,
        cpu_seconds=ns.cpu_seconds,
        output_bytes=ns.output_bytes,
        file_size_bytes=ns.file_size_bytes,
        stdin_path=ns.stdin_path,
        termination_log=ns.termination_log,
        cgroup_accounting=ns.cgroup_accounting,
        env=env,
        memory_bytes=ns.memory_bytes,
        compile_command=compile_command,
        compile_wall_seconds=ns.compile_wall_seconds,
        compile_cpu_seconds=ns.compile_cpu_seconds,
        compile_memory_bytes=ns.compile_memory_bytes,
        compile_file_size_bytes=ns.compile_file_size_bytes,
        output_dir=ns.output_dir,
        output_files_max_count=ns.output_files_max_count,
        output_files_max_bytes=ns.output_files_max_bytes,
        make_dirs=tuple(ns.make_dir),
        live=ns.live,
    )


WARM_FLAG = "--warm"


def _warm_arguments(args: Sequence[str]) -> tuple[str, str]:
    """`--warm DIR [--termination-log PATH]`: where the job's files go, where the summary goes."""
    parser = argparse.ArgumentParser(prog="sandpod-entrypoint")
    parser.add_argument(WARM_FLAG, dest="directory", required=True)
    parser.add_argument("--termination-log", default=TERMINATION_LOG)
    ns = parser.parse_args(args)
    return ns.directory, ns.termination_log


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    _make_undumpable()
    warm = args[:1] == [WARM_FLAG]
    if warm:
        directory, termination_log = _warm_arguments(args)
        try:
            args = receive_job(directory)
        except (JobError, OSError) as exc:
            outcome = Outcome(ERROR, message=f"warm pod: no job: {exc}")
            report(outcome, termination_log, summary_line=True)
            return outcome.container_exit
        _write_all(1, f"{MAGIC} {STARTED_FRAME}\n".encode("ascii"))
    opts = parse_args(args)
    try:
        outcome = supervise(opts)
    except Exception as exc:  # a bug here must still produce a readable report
        outcome = Outcome(ERROR, message=f"entrypoint failure: {type(exc).__name__}: {exc}")
    report(outcome, opts.termination_log, summary_line=warm)
    return outcome.container_exit


if __name__ == "__main__":
    sys.exit(main())
