"""The Kubernetes runner against a real cluster: `make test` starts the local one
(`make cluster-images`: a single node on 127.0.0.1 with the runtime images imported) and points
KUBECONFIG at it. Without a reachable cluster these tests skip, and under CI they fail.

Each test runs in a throwaway namespace when the credentials may create one (so a stack's own pod
monitor never races the test's), else in SANDPOD_KUBERNETES_NAMESPACE; its monitor watches only its
own execution's pods.
"""

import asyncio

import pytest

from sandpod.adapters.kubernetes.manifests import (
    EXECUTION_ID_LABEL,
    EXECUTOR_SELECTOR,
    execution_label_value,
)
from sandpod.adapters.kubernetes.monitor import PodMonitor
from sandpod.domain.events import ExecutionFinished
from sandpod.domain.execution import new_execution_id
from sandpod.domain.limits import DEFAULT_POLICY, Limits
from sandpod.domain.result import EndReason
from sandpod.domain.runtimes import Runtime, python
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import SandboxJob
from tests.cluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FINISH_TIMEOUT = 180  # image start on a cold node included


async def run(
    cluster: Cluster,
    script: str,
    *,
    limits: Limits | None = None,
    runtime: Runtime | None = None,
    cancel_after: float | None = None,
) -> ExecutionFinished:
    job = SandboxJob(
        execution_id=new_execution_id(),
        runtime=runtime or python("3.12"),
        script=script,
        stdin="e2e\n",
        limits=limits or DEFAULT_POLICY.defaults,
    )
    return await run_job(cluster, job, cancel_after=cancel_after)


async def run_job(
    cluster: Cluster, job: SandboxJob, *, cancel_after: float | None = None
) -> ExecutionFinished:
    """Launch `job` (twice: idempotent) and wait for the one terminal event its pod gives."""
    execution_id = job.execution_id
    finished: asyncio.Queue[ExecutionFinished] = asyncio.Queue()
    stop = asyncio.Event()

    async def publish(event: ExecutionFinished) -> None:
        await finished.put(event)
        stop.set()

    selector = f"{EXECUTOR_SELECTOR},{EXECUTION_ID_LABEL}={execution_label_value(execution_id)}"
    monitor = asyncio.create_task(
        PodMonitor(cluster.api, publish, label_selector=selector).run(stop)
    )
    try:
        await cluster.launcher.run(job)
        await cluster.launcher.run(job)  # idempotent
        if cancel_after is not None:
            # Meant to hit a running pod; CANCELLED holds even if it has not started yet.
            await asyncio.sleep(cancel_after)
            assert await cluster.launcher.cancel(execution_id)
        event = await asyncio.wait_for(finished.get(), timeout=FINISH_TIMEOUT)
    finally:
        stop.set()
        await monitor
    assert event.execution_id == execution_id
    assert finished.empty()  # exactly one terminal event
    return event


async def test_hello_world_with_stdin(cluster: Cluster) -> None:
    event = await run(cluster, "import sys\nprint('hello', sys.stdin.read().strip())\n")
    assert event.status is ExecutionStatus.COMPLETED, event.result.message
    assert event.result.stdout == "hello e2e\n"
    assert event.result.peak_memory_bytes > 0


async def test_sandbox_is_non_root_read_only_and_offline(cluster: Cluster) -> None:
    script = """
import os, socket
print(os.getuid(), os.getgid())
for path in ("/etc/x", "/usr/x", "/sandbox/x"):
    try:
        open(path, "w")
        print("writable", path)
    except OSError:
        pass
open("/tmp/ok", "w").write("ok")
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    print("network reachable")
except OSError:
    print("offline")
print(sorted(k for k in os.environ if "KUBERNETES" in k or "TOKEN" in k))
print(os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount"))
"""
    event = await run(cluster, script)
    assert event.status is ExecutionStatus.COMPLETED, event.result.stderr
    assert event.result.stdout.splitlines() == ["65534 65534", "offline", "[]", "False"]


async def test_wall_limit(cluster: Cluster) -> None:
    limits = DEFAULT_POLICY.defaults.model_copy(update={"wall_seconds": 2})
    event = await run(
        cluster, "import time\nprint('start', flush=True)\ntime.sleep(60)\n", limits=limits
    )
    assert event.status is ExecutionStatus.TIMED_OUT
    assert event.result.stdout == "start\n"


async def test_memory_limit(cluster: Cluster) -> None:
    limits = DEFAULT_POLICY.defaults.model_copy(update={"memory_mb": 64})
    event = await run(
        cluster, "blocks = []\nwhile True:\n    blocks.append(bytearray(8 << 20))\n", limits=limits
    )
    assert event.result.end_reason is EndReason.MEMORY_LIMIT, event.result


async def test_output_flood_is_capped(cluster: Cluster) -> None:
    limits = DEFAULT_POLICY.defaults.model_copy(update={"output_bytes": 10_000})
    event = await run(cluster, "while True:\n    print('x' * 1000)\n", limits=limits)
    assert event.result.end_reason is EndReason.OUTPUT_LIMIT
    assert len(event.result.stdout) == 10_000
    assert event.result.stdout_truncated


async def test_cancel(cluster: Cluster) -> None:
    event = await run(cluster, "import time\ntime.sleep(60)\n", cancel_after=3)
    assert event.status is ExecutionStatus.CANCELLED


async def test_missing_image_is_a_platform_error(cluster: Cluster) -> None:
    broken = python("3.12").model_copy(update={"image": "sandpod-runtime-missing:0"})
    event = await run(cluster, "print(1)\n", runtime=broken)
    assert event.status is ExecutionStatus.ERRORED
    assert "could not start" in (event.result.message or "")
