"""The attack suite through real pods: each attack runs in a hardened executor pod on the local
cluster while a hello-world pod runs beside it, which must still succeed.

Pods run through `KubernetesLauncher.probe` (create, wait for the end, read the framed report,
delete): the same spec, admission and NetworkPolicy as every execution; and each attack again in a
warm pod (a pool made for its limits), its job sent on stdin and its result read from the stream.
"""

import asyncio
import json
from typing import Any

import pytest

from sandpod.domain.execution import new_execution_id
from sandpod.domain.limits import DEFAULT_POLICY, LimitPolicy
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import python
from sandpod.ports import SandboxJob
from tests.cluster import Cluster, warm_launcher

SMALL: dict[str, float] = {"wall_seconds": 10, "cpu_seconds": 5, "memory_mb": 64}
POD_PIDS_LIMIT = 512  # the local cluster's kubelet podPidsLimit (scripts/cluster/cluster.sh)


def job(script: str, **limits: float) -> SandboxJob:
    return SandboxJob(
        execution_id=new_execution_id(),
        runtime=python("3.12"),
        script=script,
        stdin="",
        limits=DEFAULT_POLICY.defaults.model_copy(update={**SMALL, **limits}),
    )


@pytest.fixture(params=["cold", "warm"])
def mode(request: pytest.FixtureRequest) -> str:
    """Every attack twice: in a pod made for it, and in a warm pod claimed for it (warm.py)."""
    return str(request.param)


async def in_warm_pod(cluster: Cluster, attack: SandboxJob) -> Result:
    """The attack in a warm pod of a pool made for its limits; the result from the stream."""
    policy = LimitPolicy(defaults=attack.limits, maxima=attack.limits)
    launcher = warm_launcher(cluster, policy)
    try:
        await launcher.prepare()
        await asyncio.wait_for(launcher.warm_up(), 120)
        result = await launcher.run(attack)
        assert launcher.warm_claims == 1, "the attack did not run in a warm pod"
    finally:
        await launcher.close()
    assert result is not None, "no result from the warm pod's stream"
    return result


async def contained(cluster: Cluster, mode: str, attack: SandboxJob) -> Result:
    """Run the attack and a hello world side by side; the hello world must not notice."""
    hello = job("print('hello from the neighbour')")
    run = cluster.launcher.probe(attack) if mode == "cold" else in_warm_pod(cluster, attack)
    attacked, neighbour = await asyncio.gather(run, cluster.launcher.probe(hello))
    assert neighbour.end_reason is EndReason.COMPLETED, neighbour
    assert neighbour.stdout == "hello from the neighbour\n"
    return attacked


def report(result: Result) -> dict[str, Any]:
    assert result.stdout, result
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


async def test_fork_bomb_is_capped_by_the_pod_pids_limit(cluster: Cluster, mode: str) -> None:
    # Children do nothing but pause, so memory is no limit here: only the pids budget stops them.
    script = """
import json, os, signal
children = 0
for _ in range(2000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        signal.pause()
        os._exit(0)
    children += 1
print(json.dumps({"children": children}))
"""
    result = await contained(cluster, mode, job(script, memory_mb=512))
    assert report(result)["children"] < POD_PIDS_LIMIT, result


async def test_thread_bomb_is_capped_by_the_pod_pids_limit(cluster: Cluster, mode: str) -> None:
    script = """
import json, threading
threading.stack_size(64 * 1024)
stop = threading.Event()
threads = []
try:
    for _ in range(2000):
        thread = threading.Thread(target=stop.wait, daemon=True)
        thread.start()
        threads.append(thread)
except RuntimeError:
    pass
stop.set()
print(json.dumps({"threads": len(threads)}))
"""
    result = await contained(cluster, mode, job(script, memory_mb=512))
    assert report(result)["threads"] < POD_PIDS_LIMIT, result


async def test_memory_bomb_ends_as_memory_limit(cluster: Cluster, mode: str) -> None:
    script = "blocks = []\nwhile True:\n    blocks.append(b'x' * (8 << 20))\n"
    result = await contained(cluster, mode, job(script))
    assert result.end_reason is EndReason.MEMORY_LIMIT, result


async def test_cpu_spin_ends_at_the_cpu_limit(cluster: Cluster, mode: str) -> None:
    result = await contained(cluster, mode, job("while True:\n    pass\n", cpu_seconds=1))
    assert result.end_reason is EndReason.TIMED_OUT, result


async def test_sleep_forever_ends_at_the_wall_limit(cluster: Cluster, mode: str) -> None:
    result = await contained(cluster, mode, job("import time\ntime.sleep(3600)\n", wall_seconds=2))
    assert result.end_reason is EndReason.TIMED_OUT, result


async def test_output_flood_is_cut_at_the_cap(cluster: Cluster, mode: str) -> None:
    flood = job("while True:\n    print('x' * 4096)\n", output_bytes=50_000)
    result = await contained(cluster, mode, flood)
    assert result.end_reason is EndReason.OUTPUT_LIMIT, result
    assert len(result.stdout) == 50_000
    assert result.stdout_truncated


async def test_disk_fill_stops_at_the_tmp_size(cluster: Cluster, mode: str) -> None:
    script = """
import json
written = 0
try:
    with open("/tmp/fill", "wb") as handle:
        while written < 512 << 20:
            handle.write(b"x" * (1 << 20))
            handle.flush()
            written += 1 << 20
except OSError as exc:
    print(json.dumps({"written_mb": written >> 20, "error": exc.errno}))
else:
    print(json.dumps({"written_mb": written >> 20, "error": None}))
"""
    result = await contained(
        cluster, mode, job(script, tmp_mb=16, file_size_mb=1024, memory_mb=256)
    )
    # Either the file-size rlimit, the memory-backed tmp's size or the memory limit stops it.
    if result.end_reason is not EndReason.MEMORY_LIMIT:
        found = report(result)
        assert found["error"] is not None, found
        assert found["written_mb"] <= 64, found


async def test_no_network_no_dns_no_service_account(cluster: Cluster, mode: str) -> None:
    script = """
import json, os, socket
found = {}
for family, address in ((socket.AF_INET, "1.1.1.1"), (socket.AF_INET, "10.96.0.1")):
    try:
        socket.create_connection((address, 443), timeout=3).close()
        found[address] = "connected"
    except OSError as exc:
        found[address] = type(exc).__name__
try:
    socket.getaddrinfo("kubernetes.default.svc", 443)
    found["dns"] = "resolved"
except OSError:
    found["dns"] = "failed"
found["token"] = os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount")
print(json.dumps(found))
"""
    found = report(await contained(cluster, mode, job(script)))
    assert found["1.1.1.1"] != "connected", found
    assert found["10.96.0.1"] != "connected", found
    assert found["dns"] == "failed", found
    assert found["token"] is False


async def test_host_files_and_environment_are_out_of_reach(cluster: Cluster, mode: str) -> None:
    script = """
import json, os
found = {"uid": os.getuid(), "env": sorted(os.environ)}
for path in ("/etc/shadow", "/proc/1/environ", "/var/lib/kubelet", "/etc/kubernetes"):
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        found[path] = "read"
    except OSError as exc:
        found[path] = type(exc).__name__
for path in ("/etc/x", "/usr/x", "/sandbox/x"):
    try:
        open(path, "w").close()
        found[path] = "written"
    except OSError as exc:
        found[path] = type(exc).__name__
try:
    with open("/sandbox/fill", "wb") as handle:
        handle.write(b"x" * (3 << 20))
    found["fill"] = "written"
except OSError as exc:
    found["fill"] = type(exc).__name__
print(json.dumps(found))
"""
    found = report(await contained(cluster, mode, job(script)))
    assert found["uid"] == 65534
    assert not [name for name in found["env"] if "KUBERNETES" in name or "SANDPOD" in name]
    assert "read" not in {found[p] for p in ("/etc/shadow", "/proc/1/environ")}, found
    assert "written" not in {found[p] for p in ("/etc/x", "/usr/x")}, found
    if mode == "cold":
        assert found["/sandbox/x"] != "written", found  # the ConfigMap, read-only
    else:
        # A warm pod's /sandbox is the emptyDir its PID 1 wrote the job into, as the same user:
        # the program may write there too, but it is the pod's own, in memory and capped.
        assert found["/sandbox/x"] == "written", found
        assert found["fill"] == "OSError", found  # the 2 MiB sizeLimit
