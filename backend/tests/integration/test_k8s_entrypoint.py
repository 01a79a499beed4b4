"""The in-pod entrypoint run for real (as a subprocess) with hostile scripts; its output parsed by
the pod monitor exactly as in a cluster: termination message + the tail of the container log."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandpod.adapters.kubernetes import entrypoint as ep
from sandpod.adapters.kubernetes.api import PodListing, WatchEvent
from sandpod.adapters.kubernetes.framing import (
    BLOCK_START,
    parse_live_line,
    parse_summary,
    read_report,
)
from sandpod.adapters.kubernetes.manifests import EXECUTION_ID_ANNOTATION, OUTPUT_FILES_ANNOTATION
from sandpod.adapters.kubernetes.monitor import PodMonitor
from sandpod.domain.events import ExecutionFinished
from sandpod.domain.result import EndReason
from sandpod.domain.status import ExecutionStatus

ENTRYPOINT = Path(ep.__file__)


def interpreters() -> list[str]:
    """This Python plus every other catalogue version found on the machine (never skipped)."""
    found = {f"{sys.version_info.major}.{sys.version_info.minor}": sys.executable}
    home = os.path.expanduser("~/.pyenv/versions")
    for version in ("3.11", "3.12", "3.13"):
        candidates = [shutil.which(f"python{version}") or ""]
        candidates += sorted(glob.glob(f"{home}/{version}*/bin/python{version}"))
        for path in candidates:
            if path and version not in found and _works(path):
                found[version] = path
    return [found[version] for version in sorted(found)]


def _works(path: str) -> bool:
    try:
        return subprocess.run([path, "-c", "pass"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class Run:
    event: ExecutionFinished
    streams: dict[str, bytes]  # the exact bytes, before UTF-8 decoding into the Result
    log: bytes
    entrypoint_stderr: bytes


class LogOnly:
    """PodApi that serves one pod's container log, as `kubectl logs --tail` would."""

    def __init__(self, log: bytes) -> None:
        self.log = log

    async def list_pods(self, label_selector: str) -> PodListing:
        raise NotImplementedError

    def watch_pods(self, label_selector: str, resource_version: str) -> AsyncIterator[WatchEvent]:
        raise NotImplementedError

    async def read_log(self, name: str, *, tail_lines: int) -> bytes:
        return b"".join(self.log.splitlines(keepends=True)[-tail_lines:])

    async def delete_pod(self, name: str, *, uid: str | None = None) -> None:
        return None


async def run_script(
    tmp_path: Path,
    script: str,
    *,
    python: str = sys.executable,
    stdin: bytes = b"",
    wall: float = 20,
    cpu: float = 10,
    output: int = 1 << 20,
    file_size: int = 1 << 20,
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
    script_env: dict[str, str] | None = None,
    options: list[str] | None = None,
) -> Run:
    main, stdin_file, termination = tmp_path / "main.py", tmp_path / "stdin", tmp_path / "term"
    main.write_text(script)
    stdin_file.write_bytes(stdin)
    termination.write_text("")
    argv = [
        python, "-I", "-S", str(ENTRYPOINT),
        "--wall-seconds", str(wall), "--cpu-seconds", str(cpu),
        "--output-bytes", str(output), "--file-size-bytes", str(file_size),
        "--stdin", str(stdin_file), "--termination-log", str(termination),
        *(f"--env={name}={value}" for name, value in (script_env or {}).items()),
        *(options or []),
        "--", *(command or [python, "-I", "-u", str(main)]),
    ]  # fmt: skip
    proc = subprocess.run(
        argv, capture_output=True, timeout=120, cwd=tmp_path, check=False, env=env
    )
    message = termination.read_text()
    summary = parse_summary(message)
    pod = {
        "metadata": {
            "name": "p",
            "uid": "u",
            "annotations": {
                EXECUTION_ID_ANNOTATION: "ex_t",
                OUTPUT_FILES_ANNOTATION: json.dumps({"max_count": 20, "max_bytes": 1 << 20}),
            },
        },
        "status": {
            "phase": "Succeeded" if proc.returncode == 0 else "Failed",
            "containerStatuses": [
                {
                    "name": "sandbox",
                    "state": {"terminated": {"exitCode": proc.returncode, "message": message}},
                }
            ],
        },
    }
    events: list[ExecutionFinished] = []

    async def publish(event: ExecutionFinished) -> None:
        events.append(event)

    await PodMonitor(LogOnly(proc.stdout), publish).handle("MODIFIED", pod)
    assert len(events) == 1
    streams = read_report(proc.stdout, summary)
    return Run(events[0], streams, proc.stdout, proc.stderr)


@pytest.mark.parametrize("python", interpreters())
async def test_hello_with_stdin_on_every_python(tmp_path: Path, python: str) -> None:
    script = "import sys\nname = sys.stdin.read().strip()\nprint(f'hello {name}')\n"
    run = await run_script(tmp_path, script, python=python, stdin=b"ada\n")
    assert run.event.status is ExecutionStatus.COMPLETED
    assert run.event.result.stdout == "hello ada\n"
    assert run.event.result.exit_code == 0
    assert run.event.result.peak_memory_bytes > 0
    assert run.entrypoint_stderr == b""  # the entrypoint itself says nothing


async def test_script_sees_only_the_environment_it_was_given(tmp_path: Path) -> None:
    # What the kubelet injects whatever enableServiceLinks says (seen on a real cluster).
    injected = {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
        "SECRET_TOKEN": "leaked",
        "PATH": os.environ["PATH"],
    }
    script = "import os, json\nprint(json.dumps(dict(os.environ), sort_keys=True))\n"
    run = await run_script(
        tmp_path, script, env=injected, script_env={"HOME": "/tmp", "LANG": "C.UTF-8"}
    )
    assert run.event.status is ExecutionStatus.COMPLETED, run.event.result
    seen = json.loads(run.event.result.stdout)
    assert seen == {"HOME": "/tmp", "LANG": "C.UTF-8", "PATH": os.environ["PATH"]}


HOSTILE = r"""
import os, sys
fake = {fake!r}
out, err = sys.stdout.buffer, sys.stderr.buffer
out.write(fake)                                    # a complete, well-formed fake block
err.write(fake + b"SANDPOD1 stderr 1 99999999\n")  # and an unterminated frame header
out.write(bytes(range(256)))                       # binary
err.write(b"\x00\xff\xfe no trailing newline")
with open({termination!r}, "w") as f:              # a forged summary in the termination log
    f.write('{{"v":1,"outcome":"exited","exit_code":0,"container_exit":0}}')
try:                                               # straight into the container log
    with open(f"/proc/{{os.getppid()}}/fd/1", "wb") as log:
        log.write(fake)
except OSError:
    pass                                           # what happens when not root: PID 1 is undumpable
out.write(b"SANDPOD1 end")                         # last bytes, no newline
sys.exit(7)
"""


async def test_hostile_output_cannot_forge_the_result(tmp_path: Path) -> None:
    fake = ep.encode_frames([("stdout", b"forged"), ("stderr", b"")])
    script = HOSTILE.format(fake=fake, termination=str(tmp_path / "term"))
    run = await run_script(tmp_path, script)
    assert run.streams["stdout"] == fake + bytes(range(256)) + b"SANDPOD1 end"
    assert run.streams["stderr"] == (
        fake + b"SANDPOD1 stderr 1 99999999\n" + b"\x00\xff\xfe no trailing newline"
    )
    assert run.event.status is ExecutionStatus.FAILED
    assert run.event.result.exit_code == 7
    assert run.event.result.stdout.startswith("SANDPOD1 stdout")
    assert "\ufffd" in run.event.result.stdout  # invalid UTF-8 is replaced, never dropped


async def test_output_over_the_cap_is_cut_inside_the_pod(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "sys.stderr.write('small')\n"
        "sys.stderr.flush()\n"
        "while True:\n"
        "    sys.stdout.write('x' * 65536)\n"
    )
    run = await run_script(tmp_path, script, output=100_000)
    assert run.streams["stdout"] == b"x" * 100_000
    assert run.streams["stderr"] == b"small"
    assert run.event.result.end_reason is EndReason.OUTPUT_LIMIT
    assert run.event.result.stdout_truncated
    assert not run.event.result.stderr_truncated
    assert len(run.log) < 20_000  # the flood never reaches the container log


async def test_output_over_the_cap_then_exit_is_still_the_output_limit(tmp_path: Path) -> None:
    run = await run_script(tmp_path, "import sys\nsys.stderr.write('e' * 5000)\n", output=1000)
    assert run.streams["stderr"] == b"e" * 1000
    assert run.event.result.end_reason is EndReason.OUTPUT_LIMIT
    assert run.event.result.stderr_truncated


async def test_exit_codes_and_signals(tmp_path: Path) -> None:
    run = await run_script(tmp_path, "import sys\nprint('bye')\nsys.exit(3)\n")
    assert (run.event.status, run.event.result.exit_code) == (ExecutionStatus.FAILED, 3)
    assert run.event.result.stdout == "bye\n"
    killed = await run_script(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert killed.event.result.exit_code == -signal.SIGKILL
    assert killed.event.result.message == "killed by signal 9"


async def test_wall_limit_keeps_the_partial_output(tmp_path: Path) -> None:
    script = "import time\nprint('started', flush=True)\ntime.sleep(60)\n"
    run = await run_script(tmp_path, script, wall=1)
    assert run.event.status is ExecutionStatus.TIMED_OUT
    assert run.event.result.stdout == "started\n"
    assert "wall time limit" in (run.event.result.message or "")


async def test_cpu_limit(tmp_path: Path) -> None:
    run = await run_script(tmp_path, "while True:\n    pass\n", cpu=1)
    assert run.event.status is ExecutionStatus.TIMED_OUT
    assert "CPU time limit" in (run.event.result.message or "")
    assert run.event.result.cpu_seconds > 0


async def test_file_size_limit(tmp_path: Path) -> None:
    script = "with open('big', 'wb') as f:\n    f.write(b'0' * 200_000)\n"
    run = await run_script(tmp_path, script, file_size=100_000)
    assert run.event.status is ExecutionStatus.FAILED
    assert "File too large" in run.event.result.stderr


async def test_a_detached_child_holding_the_pipes_does_not_hang_it(tmp_path: Path) -> None:
    script = (
        "import subprocess\n"
        "child = subprocess.Popen(['sleep', '30'], start_new_session=True)\n"
        "print(child.pid, flush=True)\n"
    )
    run = await run_script(tmp_path, script)
    try:
        assert run.event.status is ExecutionStatus.COMPLETED
    finally:  # outside a container (not PID 1) the entrypoint cannot reach it; clean up
        os.kill(int(run.event.result.stdout.split()[0]), signal.SIGKILL)


async def test_a_script_that_closes_its_output_still_runs_to_its_end(tmp_path: Path) -> None:
    script = (
        "import os, time\nos.close(1)\nos.close(2)\ntime.sleep(0.5)\nopen('done', 'w').close()\n"
    )
    run = await run_script(tmp_path, script)
    assert run.event.status is ExecutionStatus.COMPLETED
    assert (tmp_path / "done").exists()


async def test_a_missing_interpreter_is_a_platform_error(tmp_path: Path) -> None:
    run = await run_script(tmp_path, "", command=["/nonexistent/python9"])
    assert run.event.status is ExecutionStatus.ERRORED
    assert "cannot start" in (run.event.result.message or "")


def live_output(log: bytes) -> tuple[dict[str, bytes], dict[str, bool], int]:
    """The live lines of a pod log: the bytes per stream, which streams were cut, and how many
    lines came before the final block (none may come after it)."""
    streams = {"stdout": b"", "stderr": b""}
    cut = {"stdout": False, "stderr": False}
    lines = log.splitlines(keepends=True)
    block = next(i for i, line in enumerate(lines) if line.startswith(BLOCK_START))
    assert all(parse_live_line(line) is None for line in lines[block:])
    for line in lines[:block]:
        piece = parse_live_line(line)
        assert piece is not None, line
        assert not cut[piece.stream], "nothing follows a cut"
        streams[piece.stream] += piece.data
        cut[piece.stream] = piece.cut
    return streams, cut, block


async def test_live_lines_carry_exactly_the_output_before_the_block(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "for i in range(3):\n"
        "    print(f'line {i}', flush=True)\n"
        "    sys.stderr.write('é' * 3000)\n"  # a piece longer than one live line
        "    sys.stderr.flush()\n"
        "sys.stdout.buffer.write(b'SANDPOD1 live stdout more Zm9yZ2Vk\\n')\n"
    )
    run = await run_script(tmp_path, script, options=["--live"])
    streams, cut, before = live_output(run.log)
    assert streams == run.streams
    assert streams["stdout"].endswith(b"SANDPOD1 live stdout more Zm9yZ2Vk\n")  # opaque payload
    assert streams["stderr"] == "é".encode() * 9000
    assert cut == {"stdout": False, "stderr": False}
    assert before >= 4
    assert run.event.status is ExecutionStatus.COMPLETED  # the result reads past the live lines


async def test_live_lines_stop_where_the_cap_cut_the_stream(tmp_path: Path) -> None:
    script = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"
    run = await run_script(tmp_path, script, output=100_000, options=["--live"])
    streams, cut, _ = live_output(run.log)
    assert streams["stdout"] == run.streams["stdout"] == b"x" * 100_000
    assert cut == {"stdout": True, "stderr": False}
    assert run.event.result.end_reason is EndReason.OUTPUT_LIMIT


async def test_without_live_the_log_holds_only_the_block(tmp_path: Path) -> None:
    run = await run_script(tmp_path, "print('hi')\n")
    assert run.log.startswith(b"SANDPOD1 stdout ")
