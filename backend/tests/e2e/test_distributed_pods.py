"""Distributed mode with the pod runner, end to end: the API, the runner (Kubernetes launcher), the
result processor and the pod monitor as processes, on the local services and the local cluster.

- 50 concurrent executions, each in its own pod, all finish with the right output, once;
- the pod monitor SIGKILLed mid-way and restarted loses nothing (it lists, then watches);
- a pod that cannot start (its image is missing) ends the execution with a clear reason, and the
  pod is deleted;
- a pod nobody will ever report on (an orphan) is reaped;
- a pod's output reaches the event stream while it runs (the runner follows the pod log).
"""

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import httpx
import pytest

from sandpod.adapters.kubernetes.manifests import EXECUTOR_SELECTOR
from sandpod.domain.execution import new_execution_id
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.runtimes import python
from sandpod.ports import SandboxJob
from tests.cluster import Cluster
from tests.e2e.test_distributed import (
    Stack,
    assert_one_terminal_state,
    running_stack,
    signed_in,
    stored_versions,
    submit,
    wait_all_terminal,
)
from tests.integration.test_live_output import TICKING, check_whole, outputs
from tests.sse import read_events
from tests.waiting import eventually

ROLES = ("api", "runner", "results", "pod-monitor")


@pytest.fixture
def pod_stack(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[Stack]:
    with running_stack(
        request.node.name,
        ROLES,
        SANDPOD_RUNNER="kubernetes",
        SANDPOD_KUBERNETES_NAMESPACE=cluster.launcher.namespace,
        # 50 pods on a 2-core node wait in Pending for minutes (each requests 250m CPU): they
        # stay queued, under the queue timeout, and the wall limit counts from each container's
        # start, so the sweep's defaults hold.
    ) as stack:
        yield stack


@pytest.fixture
async def client(pod_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with signed_in(pod_stack, ready_timeout=240) as http:
        yield http


async def executor_pods(cluster: Cluster) -> list[str]:
    namespace = cluster.launcher.namespace
    pods = await cluster.core.list_namespaced_pod(namespace, label_selector=EXECUTOR_SELECTOR)
    return [pod.metadata.name for pod in pods.items]


async def test_fifty_concurrent_executions_in_pods_each_finish_once(
    pod_stack: Stack, client: httpx.AsyncClient, cluster: Cluster
) -> None:
    ids = await asyncio.gather(*(submit(client, index) for index in range(50)))
    finished = await wait_all_terminal(client, list(ids), pod_stack, timeout=600)
    for index, execution_id in enumerate(ids):
        body = finished[execution_id]
        assert body["status"] == "completed", body
        result = body["result"]
        assert isinstance(result, dict)
        assert result["stdout"] == f"result {index * index}\n"
    pod_stack.stop()
    assert_one_terminal_state(stored_versions(pod_stack, list(ids)))
    assert await executor_pods(cluster) == []  # every reported pod was deleted


async def test_killing_the_pod_monitor_mid_way_loses_nothing(
    pod_stack: Stack, client: httpx.AsyncClient, cluster: Cluster
) -> None:
    ids = await asyncio.gather(*(submit(client, index, sleep=1) for index in range(12)))

    async def some_finished() -> bool:
        page = (await client.get("/api/v1/executions", params={"limit": 100})).json()
        done = sum(item["status"] == "completed" for item in page["items"])
        return bool(done >= 2)

    await eventually(some_finished, timeout=300, interval=0.3, what="2 executions to finish")
    pod_stack.kill("pod-monitor")
    pending = [
        item["id"]
        for item in (await client.get("/api/v1/executions", params={"limit": 100})).json()["items"]
        if item["status"] in ("queued", "running")
    ]
    assert pending, "everything finished before the monitor was killed"
    # Pods end while nobody watches; the restarted monitor finds them by listing.
    await asyncio.sleep(3)  # lets pods finish unobserved: the point of the test, not a race
    pod_stack.start("pod-monitor")
    finished = await wait_all_terminal(client, list(ids), pod_stack, timeout=600)
    assert {body["status"] for body in finished.values()} == {"completed"}, finished
    pod_stack.stop()
    assert_one_terminal_state(stored_versions(pod_stack, list(ids)))


async def test_a_pod_whose_image_is_missing_fails_clearly_and_is_deleted(
    pod_stack: Stack, client: httpx.AsyncClient, cluster: Cluster
) -> None:
    job = SandboxJob(
        execution_id=new_execution_id(),
        runtime=python("3.12").model_copy(update={"image": "sandpod-runtime-missing:0"}),
        script="print(1)\n",
        stdin="",
        limits=DEFAULT_POLICY.defaults,
    )
    await cluster.launcher.run(job)  # as the runner would for a runtime whose image is gone

    async def gone() -> bool:
        return not await executor_pods(cluster)

    await eventually(gone, timeout=180, interval=0.5, what="the pod with a missing image to go")


async def test_orphaned_pods_are_reaped(
    pod_stack: Stack, client: httpx.AsyncClient, cluster: Cluster
) -> None:
    # A pod for an execution no store knows (a crashed deployment's leftover): it runs, is
    # reported (the result processor ignores an unknown id) and deleted with its ConfigMap.
    job = SandboxJob(
        execution_id=new_execution_id(),
        runtime=python("3.12"),
        script="print('orphan')\n",
        stdin="",
        limits=DEFAULT_POLICY.defaults,
    )
    await cluster.launcher.run(job)

    async def reaped() -> bool:
        pods = await executor_pods(cluster)
        maps = await cluster.core.list_namespaced_config_map(
            cluster.launcher.namespace, label_selector=EXECUTOR_SELECTOR
        )
        return not pods and not maps.items

    await eventually(reaped, timeout=180, interval=0.5, what="the orphan pod and ConfigMap to go")


async def test_files_in_and_out_and_a_compile_error_through_the_api_on_pods(
    pod_stack: Stack, client: httpx.AsyncClient
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    main = (
        "import base64, os\n"
        "os.makedirs('/tmp/out', exist_ok=True)\n"
        "data = open(os.path.join(os.path.dirname(__file__), 'data/payload.b64')).read()\n"
        "open('/tmp/out/plot.png', 'wb').write(base64.b64decode(data))\n"
        "print('kept', len(base64.b64decode(data)))\n"
    )
    program = await client.post(
        "/api/v1/executions",
        json={
            "runtime": "python:3.12",
            "files": [
                {"name": "main.py", "content": main},
                {"name": "data/payload.b64", "content": base64.b64encode(png).decode()},
            ],
        },
    )
    assert program.status_code == 202, program.text
    broken = await client.post(
        "/api/v1/executions",
        json={"runtime": "c:gcc-12", "script": "int main(void) { return nope; }\n"},
    )
    assert broken.status_code == 202, broken.text
    ids = [program.json()["id"], broken.json()["id"]]

    finished = await wait_all_terminal(client, ids, pod_stack, timeout=300)

    ran = finished[ids[0]]
    assert ran["status"] == "completed", ran
    assert isinstance(ran["result"], dict)
    assert ran["result"]["stdout"] == f"kept {len(png)}\n"
    listing = (await client.get(f"/api/v1/executions/{ids[0]}/files")).json()
    assert [(f["name"], f["size"]) for f in listing["files"]] == [("plot.png", len(png))]
    fetched = await client.get(f"/api/v1/executions/{ids[0]}/files/plot.png")
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.content == png
    failed = finished[ids[1]]
    assert failed["status"] == "failed", failed
    assert isinstance(failed["result"], dict)
    assert failed["result"]["end_reason"] == "compile_error"
    assert "nope" in failed["result"]["compile"]["output"]


async def test_a_pods_output_arrives_while_it_runs_and_resumes_exactly(
    pod_stack: Stack, client: httpx.AsyncClient
) -> None:
    submitted = await client.post("/api/v1/executions", json=TICKING)
    assert submitted.status_code == 202, submitted.text
    execution = f"/api/v1/executions/{submitted.json()['id']}"
    url = f"{execution}/events"
    before = await read_events(client, url, {}, stop_after=4)
    assert any(event.event == "output" for event in before), before
    after = await read_events(client, url, {}, last_event_id=before[-1].id)
    events = before + after
    check_whole(events)
    finished_at = datetime.fromisoformat((await client.get(execution)).json()["finished_at"])
    first = next(event for event in events if event.event == "output")
    assert first.at < finished_at, "the first output event came only after the script ended"
    assert len(outputs(events)) > 1  # lines 0.5 s apart are not held back into one chunk
