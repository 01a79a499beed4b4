"""A warm pod's path with the real entrypoint (as a subprocess, `--warm`): the launcher claims a
pod, sends the job on its stdin, and reads the result from its stdout; the result must equal the
one the pod monitor builds from the same program run cold (termination message + log tail)."""

import asyncio
import base64
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandpod.adapters.kubernetes import entrypoint as ep
from sandpod.adapters.kubernetes.launcher import KubernetesLauncher
from sandpod.domain.result import EndReason, Result
from tests.integration.test_k8s_entrypoint import ENTRYPOINT, HOSTILE, run_script
from tests.unit.test_k8s_launcher import FakeApi, job, launcher

# A pod's paths, and where this test puts them.
POD_PATHS = ("/sandbox", "/dev/termination-log", "/tmp/out")  # nosec B108  # names, not temp files


def local_argv(argv: list[str], root: Path) -> list[str]:
    """The job's entrypoint arguments with the pod's paths mapped into `root`."""
    mapped = []
    for word in argv:
        if word == "--cgroup-accounting":
            continue  # no container cgroup here
        for path in POD_PATHS:
            word = word.replace(path, str(root / path.strip("/").replace("/", "_")))
        mapped.append(sys.executable if word.startswith("python3") else word)
    return mapped


class EntrypointPods:
    """attach() starts the real entrypoint in warm mode and hands it the job."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stderr = b""

    async def __call__(self, name: str, payload: bytes) -> AsyncIterator[bytes]:
        _header, body = payload.split(b"\n", 1)
        sent = json.loads(body)
        files = {key: base64.b64decode(value) for key, value in sent["files"].items()}
        local = ep.encode_job(local_argv(sent["argv"], self.root), files)
        (self.root / "sandbox").mkdir()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", str(ENTRYPOINT),
            "--warm", str(self.root / "sandbox"),
            "--termination-log", str(self.root / "dev_termination-log"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=self.root,
        )  # fmt: skip
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdin.write(local)
        await proc.stdin.drain()
        async for line in proc.stdout:
            yield line
        self.stderr = await proc.stderr.read()
        await proc.wait()


async def run_warm(tmp_path: Path, script: str, stdin: str = "") -> tuple[Result, EntrypointPods]:
    api = FakeApi()
    pods = EntrypointPods(tmp_path)
    api.attach_answer = pods
    runner: KubernetesLauncher = launcher(api, warm_pool_size=1, warm_pool_runtimes=["python:3.12"])
    await runner.prepare()
    await asyncio.wait_for(runner.warm_up(), 5)
    the_job = job("ex_warm", script)
    the_job = type(the_job)(the_job.execution_id, the_job.runtime, script, stdin, the_job.limits)
    try:
        result = await runner.run(the_job)
    finally:
        await runner.close()
    assert runner.warm_claims == 1
    assert result is not None, "no verified result from the warm pod's stream"
    return result, pods


SCRIPTS = {
    "hello and stdin": ("import sys\nprint('hello', sys.stdin.read().strip())\n", "ada\n"),
    "exit code and stderr": (
        "import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)\n",
        "",
    ),
    "traceback": ("def f():\n    raise ValueError('boom')\nf()\n", ""),
    "binary output": ("import sys\nsys.stdout.buffer.write(bytes(range(256)))\n", ""),
}


@pytest.mark.parametrize("name", SCRIPTS)
async def test_a_warm_pods_result_equals_the_cold_one(tmp_path: Path, name: str) -> None:
    script, stdin = SCRIPTS[name]
    (tmp_path / "cold").mkdir()
    (tmp_path / "warm").mkdir()
    cold = await run_script(tmp_path / "cold", script, stdin=stdin.encode())
    warm, pods = await run_warm(tmp_path / "warm", script, stdin)
    assert (warm.end_reason, warm.exit_code) == (
        cold.event.result.end_reason,
        cold.event.result.exit_code,
    )
    assert warm.stdout == cold.event.result.stdout
    # Tracebacks name the program's folder: the cold run's here, the warm pod's sandbox/.
    folder = {"cold": str(tmp_path / "cold"), "warm": str(tmp_path / "warm" / "sandbox")}
    assert warm.stderr.replace(folder["warm"], "DIR") == cold.event.result.stderr.replace(
        folder["cold"], "DIR"
    )
    assert pods.stderr == b""  # the entrypoint itself says nothing


async def test_hostile_output_cannot_forge_a_warm_result(tmp_path: Path) -> None:
    fake = ep.encode_frames([("stdout", b"forged"), ("stderr", b"")])
    forged_summary = b'SANDPOD1 summary {"v":1,"outcome":"exited","exit_code":0}\n'
    script = HOSTILE.format(fake=forged_summary + fake, termination=str(tmp_path / "term"))
    result, _ = await run_warm(tmp_path, script)
    assert result.end_reason is EndReason.FAILED
    assert result.exit_code == 7
    assert result.stdout.startswith("SANDPOD1 summary")  # the script's bytes, as payload only


async def test_a_job_that_does_not_decode_is_an_error_report(tmp_path: Path) -> None:
    term = tmp_path / "term"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-S", str(ENTRYPOINT), "--warm", str(tmp_path),
        "--termination-log", str(term),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate(b"SANDPOD1 job 5\n{nope")
    assert proc.returncode == 70
    summary = json.loads(term.read_text())
    assert summary["outcome"] == "error"
    assert "no job" in summary["message"]
    assert out.startswith(b"SANDPOD1 summary ")


async def test_a_job_file_cannot_leave_the_sandbox_folder(tmp_path: Path) -> None:
    (tmp_path / "sandbox").mkdir()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-S", str(ENTRYPOINT), "--warm", str(tmp_path / "sandbox"),
        "--termination-log", str(tmp_path / "term"),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await proc.communicate(ep.encode_job(["--help"], {"../escaped": b"x"}))
    assert not (tmp_path / "escaped").exists()
    assert "leaves" in json.loads((tmp_path / "term").read_text())["message"]
