"""Distributed mode with the pod runner and its warm pod pool, end to end: the API, the runner,
the result processor and the pod monitor as processes on the local services and cluster. Jobs
that fit go to warm pods (result from the attached stream, reported by the runner), each ends
once with the right output and a start time, and a stopped runner leaves no warm pod behind."""

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from sandpod.adapters.kubernetes.manifests import WARM_SELECTOR
from tests.cluster import Cluster
from tests.e2e.test_distributed import (
    LOGS,
    Stack,
    assert_one_terminal_state,
    running_stack,
    signed_in,
    stored_versions,
    submit,
    wait_all_terminal,
)
from tests.waiting import eventually

ROLES = ("api", "runner", "results", "pod-monitor")


@pytest.fixture
def warm_stack(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[Stack]:
    for role in ROLES:  # the logs are read below: only this run's
        (LOGS / f"{request.node.name}-{role}.log").unlink(missing_ok=True)
    with running_stack(
        request.node.name,
        ROLES,
        SANDPOD_RUNNER="kubernetes",
        SANDPOD_KUBERNETES_NAMESPACE=cluster.launcher.namespace,
        SANDPOD_KUBERNETES_WARM_POOL_SIZE="2",
    ) as stack:
        yield stack


@pytest.fixture
async def client(warm_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with signed_in(warm_stack, ready_timeout=240) as http:
        yield http


async def warm_pods(cluster: Cluster) -> list[str]:
    listing = await cluster.api.list_pods(WARM_SELECTOR)
    return [pod["metadata"]["name"] for pod in listing.pods]


async def test_executions_run_in_warm_pods_and_each_ends_once(
    warm_stack: Stack, client: httpx.AsyncClient, cluster: Cluster
) -> None:
    log_path = LOGS / f"{warm_stack.name}-runner.log"

    def runner_log() -> list[str]:
        return log_path.read_text().splitlines() if log_path.exists() else []

    def ready(count: int) -> bool:  # the runner's pool has this many pods by now
        return sum("is ready in" in line for line in runner_log()) >= count

    ids: list[str] = []
    for batch in range(4):  # two at a time, once the pool is full again (a refill takes ~2 s)
        await eventually(
            functools.partial(ready, 2 * (batch + 1)), timeout=120, interval=0.2, what="warm pods"
        )
        ids += await asyncio.gather(*(submit(client, 2 * batch + i) for i in range(2)))
        await wait_all_terminal(client, ids, warm_stack, timeout=300)
    finished = await wait_all_terminal(client, ids, warm_stack, timeout=300)
    for index, execution_id in enumerate(ids):
        body = finished[execution_id]
        assert body["status"] == "completed", body
        result = body["result"]
        assert isinstance(result, dict)
        assert result["stdout"] == f"result {index * index}\n"
        assert body["started_at"] is not None, body  # the runner reported the warm start
    log = runner_log()
    warm = {i for i in ids for line in log if "runs in warm pod" in line and i in line}
    assert warm == set(ids), "\n".join(log[-40:])
    warm_stack.stop()  # SIGTERM: the runner deletes its idle pods on the way out
    assert_one_terminal_state(stored_versions(warm_stack, list(ids)))

    async def no_warm_pods() -> bool:
        return await warm_pods(cluster) == []

    await eventually(
        no_warm_pods, timeout=60, interval=0.5, what="warm pods deleted after the runner stopped"
    )
