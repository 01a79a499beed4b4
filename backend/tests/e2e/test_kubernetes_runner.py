"""The Kubernetes runner against a real cluster: `make test` starts the local one
(`make cluster-images`: a single node on 127.0.0.1 with the runtime images imported) and points
KUBECONFIG at it. Without a reachable cluster these tests skip, and under CI they fail.

Each test runs in a throwaway namespace when the credentials may create one (so a stack's own pod
monitor never races the test's), else in SANDPOD_KUBERNETES_NAMESPACE; its monitor watches only its
own execution's pods.
"""

import asyncio
import dataclasses
import re
import time
from collections.abc import Sequence

import pytest
from kubernetes_asyncio import client as k8s

from sandpod.adapters.kubernetes.api import KubernetesApi
from sandpod.adapters.kubernetes.client import find_kube_config, new_api_client
from sandpod.adapters.kubernetes.launcher import KubernetesLauncher
from sandpod.adapters.kubernetes.manifests import (
    EXECUTION_ID_LABEL,
    EXECUTOR_SELECTOR,
    execution_label_value,
    pod_manifest,
    resource_name,
)
from sandpod.adapters.kubernetes.monitor import PodMonitor
from sandpod.adapters.memory.output_log import InMemoryOutputLog
from sandpod.domain.events import ExecutionFinished
from sandpod.domain.execution import new_execution_id
from sandpod.domain.limits import DEFAULT_POLICY, Limits
from sandpod.domain.output import OutputChunk
from sandpod.domain.result import EndReason
from sandpod.domain.runtimes import Runtime, python
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import OutputRead, SandboxJob
from sandpod.services.output import ChunkPolicy, OutputRecorder
from tests.cluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FINISH_TIMEOUT = 180  # image start on a cold node included


class LiveOutput:
    """The in-process output log (what embedded mode uses) behind a real recorder, noting when
    each append reached it."""

    def __init__(self) -> None:
        self.log = InMemoryOutputLog()
        self.arrivals: list[float] = []

    def recorder(self, execution_id: str) -> OutputRecorder:
        return OutputRecorder(self, execution_id, ChunkPolicy())

    async def append(self, execution_id: str, chunks: Sequence[OutputChunk]) -> None:
        self.arrivals.append(time.monotonic())
        await self.log.append(execution_id, chunks)

    async def end(
        self, execution_id: str, last_seq: int, chunks: Sequence[OutputChunk] = ()
    ) -> None:
        if chunks:
            self.arrivals.append(time.monotonic())
        await self.log.end(execution_id, last_seq, chunks)

    async def read(self, execution_id: str, *, after: int, wait_seconds: float) -> OutputRead:
        return await self.log.read(execution_id, after=after, wait_seconds=wait_seconds)

    async def whole(self, execution_id: str) -> list[OutputChunk]:
        """Every chunk, once the log has ended (the launcher ends it)."""
        chunks: list[OutputChunk] = []
        while True:
            read = await self.log.read(execution_id, after=len(chunks), wait_seconds=30)
            assert read.chunks or read.ended, "the live output never ended"
            chunks += read.chunks
            if read.ended:
                return chunks


async def run(
    cluster: Cluster,
    script: str,
    *,
    limits: Limits | None = None,
    runtime: Runtime | None = None,
    cancel_after: float | None = None,
    live: LiveOutput | None = None,
    execution_id: str | None = None,
) -> ExecutionFinished:
    execution_id = execution_id or new_execution_id()
    job = SandboxJob(
        execution_id=execution_id,
        runtime=runtime or python("3.12"),
        script=script,
        stdin="e2e\n",
        limits=limits or DEFAULT_POLICY.defaults,
        output=live.recorder(execution_id) if live is not None else None,
    )
    return await run_job(cluster, job, cancel_after=cancel_after)


def joined(chunks: list[OutputChunk], stream: str) -> str:
    return "".join(chunk.text for chunk in chunks if chunk.stream == stream)


async def run_job(
    cluster: Cluster,
    job: SandboxJob,
    *,
    cancel_after: float | None = None,
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
    live, execution_id = LiveOutput(), new_execution_id()
    script = "while True:\n    print('x' * 1000)\n"
    event = await run(cluster, script, limits=limits, live=live, execution_id=execution_id)
    assert event.result.end_reason is EndReason.OUTPUT_LIMIT
    assert len(event.result.stdout) == 10_000
    assert event.result.stdout_truncated
    chunks = await live.whole(execution_id)
    # A pod this short can end and be deleted before the follow connects: then there are no
    # live chunks (the result has the output); whatever was followed is cut at the same cap.
    if chunks:
        assert joined(chunks, "stdout") == event.result.stdout
        assert chunks[-1].truncated


async def test_live_output_is_followed_from_the_pod_log(cluster: Cluster) -> None:
    # Lines 0.5 s apart for 4 s: what the test then checks is that they arrive apart too, also
    # when the follow connects a moment after the container started (its poll's wait).
    script = (
        "import sys, time\n"
        "for i in range(8):\n"
        "    print(f'tick {i}', flush=True)\n"
        "    print(f'tock {i}', file=sys.stderr, flush=True)\n"
        "    time.sleep(0.5)\n"
    )
    live, execution_id = LiveOutput(), new_execution_id()
    event = await run(cluster, script, live=live, execution_id=execution_id)
    assert event.status is ExecutionStatus.COMPLETED, event.result
    chunks = await live.whole(execution_id)
    assert [chunk.seq for chunk in chunks] == list(range(1, len(chunks) + 1))
    assert (
        joined(chunks, "stdout") == event.result.stdout == "".join(f"tick {i}\n" for i in range(8))
    )
    assert joined(chunks, "stderr") == event.result.stderr
    # Lines written 0.5 s apart arrive apart, as they are written: not in one piece at the end.
    assert live.arrivals[-1] - live.arrivals[0] >= 1.0, live.arrivals


async def test_live_output_of_a_pod_that_waits_for_a_node_is_followed_once_it_runs(
    cluster: Cluster,
) -> None:
    # The log of a pod with no node yet is an empty 200, not the container's end. A loaded
    # scheduler places a pod after the follow's first read: the live view ended there, empty
    # (CI). A scheduling gate holds the pod unplaced here; the launcher finds it made (409).
    live, execution_id = LiveOutput(), new_execution_id()
    job = SandboxJob(
        execution_id=execution_id,
        runtime=python("3.12"),
        script="print('placed', flush=True)\n",
        stdin="",
        limits=DEFAULT_POLICY.defaults,
        output=live.recorder(execution_id),
    )
    namespace = cluster.api.namespace
    held = pod_manifest(job, namespace=namespace, options=cluster.launcher.options)
    held["spec"]["schedulingGates"] = [{"name": "sandpod.test/hold"}]
    await cluster.api.create_pod(held)

    async def release() -> None:
        await asyncio.sleep(2)  # the follow reads the empty log meanwhile
        ungate = [{"op": "remove", "path": "/spec/schedulingGates"}]
        await cluster.core.patch_namespaced_pod(resource_name(execution_id), namespace, ungate)

    releasing = asyncio.create_task(release())
    event = await run_job(cluster, job)
    await releasing
    assert event.status is ExecutionStatus.COMPLETED, event.result
    chunks = await live.whole(execution_id)
    assert joined(chunks, "stdout") == event.result.stdout == "placed\n"


async def test_cancel(cluster: Cluster) -> None:
    live, execution_id = LiveOutput(), new_execution_id()
    script = "import time\nprint('started', flush=True)\ntime.sleep(60)\n"  # until cancelled
    event = await run(cluster, script, cancel_after=3, live=live, execution_id=execution_id)
    assert event.status is ExecutionStatus.CANCELLED
    await live.whole(execution_id)  # the deleted pod's log ends the live output


async def test_the_cluster_reports_the_version_it_was_built_as(cluster: Cluster) -> None:
    server = await k8s.VersionApi(cluster.client).get_code()
    assert re.fullmatch(r"v1\.\d+\.\d+(\+\S+)?", server.git_version), server.git_version
    nodes = await cluster.core.list_node()
    assert [node.status.node_info.kubelet_version for node in nodes.items] == [server.git_version]


async def test_missing_image_is_a_platform_error(cluster: Cluster) -> None:
    broken = python("3.12").model_copy(update={"image": "sandpod-runtime-missing:0"})
    event = await run(cluster, "print(1)\n", runtime=broken)
    assert event.status is ExecutionStatus.ERRORED
    assert "could not start" in (event.result.message or "")


async def test_a_pod_with_a_user_namespace_runs_as_nobody_mapped_away_from_host_root(
    cluster: Cluster,
) -> None:
    # hostUsers: false (SANDPOD_KUBERNETES_USER_NAMESPACE): the local node runs containerd 2 and
    # runc 1.3, which give each such pod its own user namespace.
    async def connect() -> KubernetesApi:
        return KubernetesApi(await new_api_client(find_kube_config()), cluster.api.namespace)

    options = dataclasses.replace(cluster.launcher.options, user_namespace=True)
    launcher = KubernetesLauncher(connect, namespace=cluster.api.namespace, options=options)
    script = (
        "import os\n"
        "print(os.getuid(), os.getgid())\n"
        "print(open('/proc/self/uid_map').read().split())\n"
        "open('/tmp/ok', 'w').write('ok')\n"
        "print(open('/tmp/ok').read(), open('/sandbox/stdin').read().strip())\n"
    )
    job = SandboxJob(new_execution_id(), python("3.12"), script, "e2e\n", DEFAULT_POLICY.defaults)
    try:
        result = await launcher.probe(job)
    finally:
        await launcher.close()
    assert result.end_reason is EndReason.COMPLETED, result
    ids, mapping, files = result.stdout.splitlines()
    assert ids == "65534 65534"
    inside, outside, count = (int(word) for word in mapping.strip("[]").replace("'", "").split(","))
    assert (inside, count) == (0, 65536)
    assert outside >= 65536  # no uid of the pod is a host uid below 65536, root least of all
    assert files == "ok e2e"
