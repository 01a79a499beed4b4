"""The sandbox attack suite: each attack is contained with the right end reason while a
hello-world execution running at the same time still succeeds."""

import asyncio
import json
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.domain.result import EndReason, Result
from sandpod.ports import SandboxJob
from tests.fixtures.sandbox import (
    SandboxJobs,
    host_pids_with,
    running_marker_script,
    wait_until_running,
    warm_runner,
)


@pytest.fixture(params=["cold", "warm"])
async def sandbox_runner(
    request: pytest.FixtureRequest, sandbox_runner: LocalSandboxRunner, tmp_path: Path
) -> AsyncIterator[LocalSandboxRunner]:
    """Every attack twice: in cold sandboxes, and with the warm pool on (warm.py)."""
    if request.param == "cold":
        yield sandbox_runner
        return
    async with warm_runner(tmp_path / "warm") as runner:
        yield runner
        assert runner.warm_claims > 0, "nothing ran in a warm sandbox"


# Small limits keep the suite fast; a test overrides what it attacks.
SMALL: dict[str, float] = {"wall_seconds": 3, "cpu_seconds": 2, "memory_mb": 64, "processes": 16}


async def contained(runner: LocalSandboxRunner, jobs: SandboxJobs, attack: SandboxJob) -> Result:
    """Run the attack and a hello world side by side; the hello world must not notice."""
    hello = jobs("print('hello from the neighbour')", limits=SMALL)
    attacked, neighbour = await asyncio.gather(runner.run(attack), runner.run(hello))
    assert neighbour.end_reason is EndReason.COMPLETED, neighbour
    assert neighbour.stdout == "hello from the neighbour\n"
    return attacked


def report(result: Result) -> dict[str, Any]:
    """The JSON object an attack script printed last."""
    assert result.stdout, result
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


# ---------------------------------------------------------------- resource exhaustion


async def test_fork_bomb_is_capped_by_the_pids_cgroup(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = """
import os, time
children = 0
for _ in range(10_000):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
    except OSError:
        break
print(children)
"""
    result = await contained(sandbox_runner, sandbox_jobs, sandbox_jobs(script, limits=SMALL))
    # 16 processes: the script itself plus at most 15 children; they die with the sandbox.
    assert result.end_reason is EndReason.COMPLETED, result
    assert 0 < int(result.stdout) <= 15


async def test_exponential_fork_bomb(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
    result = await contained(sandbox_runner, sandbox_jobs, sandbox_jobs(script, limits=SMALL))
    assert result.end_reason is EndReason.TIMED_OUT


async def test_memory_bomb(sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs) -> None:
    script = "hog = []\nwhile True:\n    hog.append(bytearray(1 << 20))\n"
    result = await contained(sandbox_runner, sandbox_jobs, sandbox_jobs(script, limits=SMALL))
    assert result.end_reason is EndReason.MEMORY_LIMIT
    assert result.exit_code == -9
    assert result.peak_memory_bytes <= 64 << 20
    assert result.message == "memory limit of 64 MiB exceeded (out-of-memory kill)"


async def test_memory_bomb_in_a_child_process(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = """
import os, sys
pid = os.fork()
if pid == 0:
    hog = []
    while True:
        hog.append(bytearray(1 << 20))
_, status = os.waitpid(pid, 0)
sys.exit(1 if os.WIFSIGNALED(status) else 0)
"""
    result = await contained(sandbox_runner, sandbox_jobs, sandbox_jobs(script, limits=SMALL))
    assert result.end_reason is EndReason.MEMORY_LIMIT


async def test_cpu_spin(sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs) -> None:
    job = sandbox_jobs(
        "while True:\n    pass\n", limits=SMALL | {"cpu_seconds": 1.0, "wall_seconds": 20}
    )
    result = await contained(sandbox_runner, sandbox_jobs, job)
    assert result.end_reason is EndReason.TIMED_OUT
    assert result.message is not None
    assert "CPU time limit" in result.message


async def test_cpu_spin_in_many_processes_counts_them_all(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    # Each process stays under its own RLIMIT_CPU; the cgroup total is what stops them.
    script = "import os\nfor _ in range(3):\n    os.fork()\nwhile True:\n    pass\n"
    job = sandbox_jobs(script, limits=SMALL | {"cpu_seconds": 1.0, "wall_seconds": 20})
    result = await contained(sandbox_runner, sandbox_jobs, job)
    assert result.end_reason is EndReason.TIMED_OUT
    assert "CPU time limit" in str(result.message)


async def test_sleep_forever(sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs) -> None:
    job = sandbox_jobs("import time\ntime.sleep(3600)\n", limits=SMALL)
    result = await contained(sandbox_runner, sandbox_jobs, job)
    assert result.end_reason is EndReason.TIMED_OUT
    assert result.exit_code == -9
    assert result.message == "wall-clock time limit of 3 s exceeded"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
async def test_100_mb_output_flood(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, stream: str
) -> None:
    script = (
        f"import sys\nchunk = 'x' * 65536\nfor _ in range(1600):\n    sys.{stream}.write(chunk)\n"
    )
    job = sandbox_jobs(script, limits=SMALL | {"output_bytes": 100_000})
    result = await contained(sandbox_runner, sandbox_jobs, job)
    assert result.end_reason is EndReason.OUTPUT_LIMIT
    assert getattr(result, stream) == "x" * 100_000
    assert getattr(result, f"{stream}_truncated")
    assert f"exceeded on {stream}" in str(result.message)


async def test_filling_tmp_stops_at_its_size(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = """
import errno, json
written = 0
try:
    for i in range(10_000):
        with open(f"/tmp/fill-{i}", "wb") as f:
            f.write(b"x" * 262144)
        written += 262144
except OSError as exc:
    print(json.dumps({"written": written, "errno": exc.errno}))
"""
    job = sandbox_jobs(script, limits=SMALL | {"tmp_mb": 4, "memory_mb": 128})
    result = await contained(sandbox_runner, sandbox_jobs, job)
    assert result.end_reason is EndReason.COMPLETED, result
    found = report(result)
    assert found["errno"] == 28  # ENOSPC
    assert 0 < int(str(found["written"])) <= 4 << 20


async def test_huge_file_hits_the_file_size_limit(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = """
import json
try:
    with open("/tmp/huge", "wb") as f:
        f.write(b"x" * (3 << 20))
except OSError as exc:
    import os
    print(json.dumps({"errno": exc.errno, "size": os.path.getsize("/tmp/huge")}))
"""
    job = sandbox_jobs(script, limits=SMALL | {"file_size_mb": 1, "tmp_mb": 8})
    result = await contained(sandbox_runner, sandbox_jobs, job)
    assert result.end_reason is EndReason.COMPLETED, result
    assert report(result) == {"errno": 27, "size": 1 << 20}  # EFBIG at exactly 1 MiB


# ---------------------------------------------------------------- network


@pytest.fixture
def host_listener() -> Iterator[socket.socket]:
    """A TCP server on the host's loopback that the sandbox must not reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


async def test_no_network_at_all(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, host_listener: socket.socket
) -> None:
    port = host_listener.getsockname()[1]
    script = f"""
import json, socket
found = {{"interfaces": [name for _, name in socket.if_nameindex()]}}
for key, address in (("loopback", ("127.0.0.1", {port})), ("public", ("1.1.1.1", 80))):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(address)
        found[key] = "connected"
    except OSError as exc:
        found[key] = exc.errno
try:
    socket.getaddrinfo("example.com", 80)
    found["dns"] = "resolved"
except socket.gaierror as exc:
    found["dns"] = "failed"
print(json.dumps(found))
"""
    result = await contained(sandbox_runner, sandbox_jobs, sandbox_jobs(script, limits=SMALL))
    assert result.end_reason is EndReason.COMPLETED, result
    assert report(result) == {
        "interfaces": ["lo"],  # its own loopback only
        "loopback": 111,  # ECONNREFUSED: nothing listens on the sandbox's own 127.0.0.1
        "public": 101,  # ENETUNREACH at once: there is no route, no packet leaves
        "dns": "failed",
    }
    with pytest.raises(BlockingIOError):
        host_listener.accept()  # the host's listener never saw a connection


# ---------------------------------------------------------------- host secrets


async def test_host_files_are_not_there(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = """
import json, os
found = {"root": sorted(os.listdir("/"))}
for path in ("/etc/shadow", "/etc/passwd", "/home", "/var", "/work", "/root/.bash_history"):
    try:
        open(path).read()
        found[path] = "readable"
    except OSError as exc:
        found[path] = exc.errno
found["/root"] = os.listdir("/root") if os.path.isdir("/root") else None
found["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
found["dev"] = sorted(os.listdir("/dev"))
with open("/dev/urandom", "rb") as f, open("/dev/null", "wb") as null:
    found["devices work"] = len(f.read(16)) == 16 and null.write(b"x") == 1
print(json.dumps(found))
"""
    result = await contained(sandbox_runner, sandbox_jobs, sandbox_jobs(script, limits=SMALL))
    assert result.end_reason is EndReason.COMPLETED, result
    found = report(result)
    assert set(found["root"]) <= {
        "bin", "dev", "lib", "lib32", "lib64", "libx32", "proc", "root", "sandbox", "sbin",
        "tmp", "usr",
    }  # fmt: skip
    for path in ("/etc/shadow", "/etc/passwd", "/home", "/var", "/work", "/root/.bash_history"):
        assert found[path] == 2, path  # ENOENT: not mounted at all
    assert found["/root"] in (None, [".pyenv"])  # at most the interpreter's own folder
    assert found["pids"] == [1, 2]  # bwrap's init and the script: no host process is visible
    # A few harmless devices; no terminal, no pseudo-terminals, no /dev/core.
    assert found["dev"] == [
        "fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "urandom", "zero"
    ]  # fmt: skip
    assert found["devices work"] is True


async def test_server_environment_is_invisible(
    sandbox_runner: LocalSandboxRunner,
    sandbox_jobs: SandboxJobs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = f"s3cr3t-{secrets.token_hex(8)}"
    monkeypatch.setenv("SANDPOD_TEST_SECRET", secret)
    script = """
import json, os
dump = {"env": dict(os.environ)}
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        dump[pid] = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
    except OSError as exc:
        dump[pid] = exc.errno
print(json.dumps(dump))
"""
    result = await contained(sandbox_runner, sandbox_jobs, sandbox_jobs(script, limits=SMALL))
    assert result.end_reason is EndReason.COMPLETED, result
    assert secret not in result.stdout
    assert "SANDPOD_TEST_SECRET" not in result.stdout
    env = report(result)["env"]
    assert set(env) <= {
        "PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING",
        "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PWD", "LC_CTYPE",
        "TMPDIR",
    }  # fmt: skip


async def test_nothing_outside_tmp_is_writable(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = """
import json, os, sys
found = {}
targets = ["/usr/evil", "/evil", "/sandbox/main.py", "/sandbox/evil", "/dev/evil", "/proc/evil",
           "/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger",
           sys.executable, os.path.join(sys.prefix, "evil")]
for path in targets:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)
        found[path] = "WRITABLE"
    except OSError as exc:
        found[path] = exc.errno
with open("/tmp/fine", "w") as f:
    f.write("tmp is writable")
with open("/dev/shm/fine", "w") as f:
    f.write("shm is writable")
print(json.dumps(found))
"""
    result = await contained(sandbox_runner, sandbox_jobs, sandbox_jobs(script, limits=SMALL))
    assert result.end_reason is EndReason.COMPLETED, result
    found = report(result)
    assert "WRITABLE" not in found.values(), found
    assert found["/proc/sys/kernel/core_pattern"] == 13  # EACCES: host root is not mapped in


async def test_other_executions_are_invisible(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    marker = f"marker-{secrets.token_hex(6)}"
    victim = sandbox_jobs(
        f"""
for path in ("/tmp/{marker}", "/dev/shm/{marker}"):
    with open(path, "w") as f:
        f.write("private")
"""
        + running_marker_script(marker),
        limits=SMALL | {"wall_seconds": 60},
    )
    victim_run = asyncio.create_task(sandbox_runner.run(victim))
    await wait_until_running(marker)  # its files exist and it is alive while the snoop looks
    snoop = sandbox_jobs(
        f"""
import json, os
hits = []
for top in ("/tmp", "/dev", "/sandbox", "/proc", "/root"):
    for base, dirs, files in os.walk(top, onerror=lambda e: None):
        if base.startswith("/proc/") and not base[6:7].isdigit():
            dirs[:] = []
        hits += [os.path.join(base, n) for n in dirs + files if "{marker}" in n]
pids = [p for p in os.listdir("/proc") if p.isdigit()]
cmdlines = [open(f"/proc/{{p}}/cmdline", "rb").read().decode(errors="replace") for p in pids]
print(json.dumps({{"hits": hits, "pids": sorted(map(int, pids)), "cmdlines": cmdlines}}))
""",
        limits=SMALL,
    )
    seen = await sandbox_runner.run(snoop)
    assert await sandbox_runner.cancel(victim.execution_id)
    assert (await victim_run).end_reason is EndReason.CANCELLED
    assert seen.end_reason is EndReason.COMPLETED, seen
    found = report(seen)
    assert found["hits"] == []
    assert found["pids"] == [1, 2]
    assert marker not in json.dumps(found["cmdlines"])
    assert victim.execution_id not in json.dumps(found["cmdlines"])


async def test_no_privileges(sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs) -> None:
    script = """
import ctypes, json, os
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines())
found = {
    "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "caps": [status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")],
    "no_new_privs": status["NoNewPrivs"].strip(), "seccomp": status["Seccomp"].strip(),
    "uid_map": open("/proc/self/uid_map").read().split(),
}
for name, attempt in (("setuid", lambda: os.setuid(0)), ("chroot", lambda: os.chroot("/tmp")),
                      ("userns", lambda: os.unshare(os.CLONE_NEWUSER)),
                      ("mount_ns", lambda: os.unshare(os.CLONE_NEWNS))):
    try:
        attempt()
        found[name] = "ALLOWED"
    except OSError as exc:
        found[name] = exc.errno
libc = ctypes.CDLL(None, use_errno=True)
found["add_key"] = libc.syscall(248, b"user", b"k", b"v", 1, -4), ctypes.get_errno()
print(json.dumps(found))
"""
    result = await contained(sandbox_runner, sandbox_jobs, sandbox_jobs(script, limits=SMALL))
    assert result.end_reason is EndReason.COMPLETED, result
    found = report(result)
    assert (found["uid"], found["euid"], found["gid"]) == (65534, 65534, 65534)
    assert found["groups"] in ([], [65534])
    assert found["caps"] == ["0000000000000000"] * 5
    assert (found["no_new_privs"], found["seccomp"]) == ("1", "2")
    # The sandbox user is the host's nobody too; host root shows up only as uid 1.
    assert found["uid_map"] == ["1", "0", "1", "65534", "65534", "1"]
    assert found["setuid"] in (1, 22)  # EPERM, or EINVAL: uid 0 is not even mapped
    assert found["chroot"] == 1
    assert found["userns"] == 28  # ENOSPC: user namespaces cannot be nested
    assert found["mount_ns"] == 1
    if os.uname().machine == "x86_64":
        assert found["add_key"] == [-1, 1]  # the shared user keyring is out of reach


async def test_background_processes_die_with_the_sandbox(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    marker = f"daemon-{secrets.token_hex(6)}"
    script = f"""
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "{marker}"])
    os._exit(0)
time.sleep(0.5)
print("parent done")
"""
    result = await contained(sandbox_runner, sandbox_jobs, sandbox_jobs(script, limits=SMALL))
    assert result.end_reason is EndReason.COMPLETED, result
    assert host_pids_with(marker) == []
