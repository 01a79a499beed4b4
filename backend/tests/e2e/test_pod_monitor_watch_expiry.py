"""The pod monitor meets a real 410 Gone from the real API server, and still reports a pod once.

The monitor lists, watches from the list's resourceVersion, and lists again when a watch is
refused with 410 Gone. A watch is served from the API server's watch cache, not from etcd: a
resourceVersion etcd has compacted away is still served while the cache holds the events after
it (tried on the local cluster: etcd compacted past it through its v3 API, the watch was served).
The cache keeps every event younger than 75 s (`DefaultEventFreshDuration` in k8s.io/apiserver)
and, past that, as many as its capacity (at least 100); a watch from before the oldest event it
kept is answered `too old resource version` (410). So this test:

1. starts a monitor whose first watch (from the list's version) is held, as if its connection
   had gone quiet, and runs a pod to its end meanwhile;
2. after 75 s, changes another pod (not an executor) until a watch from that version is refused;
3. lets the held watch end: the monitor resumes from the old version, the API server answers
   410, the monitor lists again and reports the pod's start and end exactly once.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

import pytest

from sandpod.adapters.kubernetes.api import (
    KubernetesApi,
    PodListing,
    ResourceExpiredError,
    WatchEvent,
)
from sandpod.adapters.kubernetes.manifests import (
    EXECUTION_ID_LABEL,
    EXECUTOR_SELECTOR,
    Manifest,
    execution_label_value,
    resource_name,
)
from sandpod.adapters.kubernetes.monitor import PodMonitor
from sandpod.domain.events import ExecutionFinished, ExecutionStarted
from sandpod.domain.execution import new_execution_id
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason
from sandpod.domain.runtimes import python
from sandpod.ports import SandboxJob
from tests.cluster import Cluster
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CACHE_KEEPS_SECONDS = 75 + 5  # the watch cache's fresh window, and a margin
CHURN_SECONDS = 120  # changes to make before giving up on the cache dropping the version
BATCH = 25  # pod changes between two looks


class HeldFirstWatch:
    """The real PodApi, except that the monitor's first watch waits for `release` and then ends
    with no event (a quiet connection the server closed). Later watches go to the server."""

    def __init__(self, api: KubernetesApi) -> None:
        self._api = api
        self.release = asyncio.Event()
        self.watched_from: list[str] = []
        self.lists = 0
        self.expired = 0  # 410s the API server answered to the monitor's watches

    async def list_pods(self, label_selector: str) -> PodListing:
        self.lists += 1
        return await self._api.list_pods(label_selector)

    async def watch_pods(
        self, label_selector: str, resource_version: str
    ) -> AsyncIterator[WatchEvent]:
        self.watched_from.append(resource_version)
        if len(self.watched_from) == 1:
            await self.release.wait()
            return
        try:
            async for event in self._api.watch_pods(label_selector, resource_version):
                yield event
        except ResourceExpiredError:
            self.expired += 1
            raise

    async def read_log(self, name: str, *, tail_lines: int) -> bytes:
        return await self._api.read_log(name, tail_lines=tail_lines)

    async def delete_pod(self, name: str, *, uid: str | None = None) -> None:
        await self._api.delete_pod(name, uid=uid)


async def served(api: KubernetesApi, selector: str, version: str) -> bool:
    """Whether the API server still serves a watch from `version` (False: 410 Gone)."""
    try:
        async with asyncio.timeout(10):
            # Closed on the way out: a stream left open holds its connection.
            events = cast(AsyncGenerator[WatchEvent], api.watch_pods(selector, version))
            async with contextlib.aclosing(events):
                async for _ in events:
                    return True  # the pod's own events after the version come at once
    except ResourceExpiredError:
        return False
    except TimeoutError:
        return True
    return True


def churn_pod(name: str) -> Manifest:
    """A pod that is never scheduled (no node has the label): only its changes matter."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "sandpod-e2e-churn"}},
        "spec": {
            "nodeSelector": {"sandpod.io/no-such-node": "true"},
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 65534,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "idle",
                    "image": "sandpod-e2e-never-pulled:0",
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


async def test_a_watch_from_a_version_the_server_dropped_is_a_real_410_and_relisted(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sandpod.adapters.kubernetes.monitor")
    execution_id = new_execution_id()
    selector = f"{EXECUTOR_SELECTOR},{EXECUTION_ID_LABEL}={execution_label_value(execution_id)}"
    api = HeldFirstWatch(cluster.api)
    finished: list[ExecutionFinished] = []
    starts: list[ExecutionStarted] = []

    async def publish(event: ExecutionFinished) -> None:
        finished.append(event)

    async def report_start(event: ExecutionStarted) -> None:
        starts.append(event)

    monitor = PodMonitor(api, publish, label_selector=selector, report_start=report_start)
    stop = asyncio.Event()
    running = asyncio.create_task(monitor.run(stop))
    churn = f"churn-{execution_id[-12:]}"
    try:

        async def holding() -> bool:
            return len(api.watched_from) == 1

        await eventually(holding, timeout=30, interval=0.1, what="the monitor's first watch")
        listed_at, version = time.monotonic(), api.watched_from[0]

        job = SandboxJob(
            execution_id=execution_id,
            runtime=python("3.12"),
            script="print('ran while the monitor was away')\n",
            stdin="",
            limits=DEFAULT_POLICY.defaults,
        )
        await cluster.launcher.run(job)

        async def pod_ended() -> bool:
            pod = await cluster.core.read_namespaced_pod_status(
                resource_name(execution_id), cluster.launcher.namespace
            )
            return bool(pod.status.phase in ("Succeeded", "Failed"))

        await eventually(pod_ended, timeout=180, interval=0.5, what="the pod to end unwatched")
        assert finished == []  # nobody watched it end
        assert starts == []

        await cluster.api.create_pod(churn_pod(churn))
        await asyncio.sleep(max(0.0, listed_at + CACHE_KEEPS_SECONDS - time.monotonic()))
        changes, deadline = 0, time.monotonic() + CHURN_SECONDS
        while await served(cluster.api, selector, version):
            assert time.monotonic() < deadline, (
                f"the API server still serves a watch from {version} after {changes} pod changes"
            )
            await asyncio.gather(
                *(
                    cluster.api.annotate_pod(churn, {"sandpod.io/e2e-churn": str(changes + i)})
                    for i in range(BATCH)
                )
            )
            changes += BATCH

        logging.getLogger(__name__).info(
            "a watch from %s is refused after %d changes to another pod", version, changes
        )
        api.release.set()  # the quiet watch ends; the monitor resumes from `version`

        async def reported() -> bool:
            return bool(finished)

        await eventually(reported, timeout=60, interval=0.2, what="the pod's end to be reported")

        async def deleted() -> bool:
            listing = await cluster.api.list_pods(selector)
            return not listing.pods

        await eventually(deleted, timeout=60, interval=0.5, what="the reported pod to go")
    finally:
        stop.set()
        await running
        with contextlib.suppress(Exception):
            await cluster.api.delete_pod(churn)

    assert api.watched_from[:2] == [version, version]  # resumed from the old version...
    assert api.expired == 1  # ...and the API server refused it with 410 Gone
    assert monitor.expired_watches == 1
    expired_lines = [r for r in caplog.records if "pod watch expired (410 Gone)" in r.getMessage()]
    assert len(expired_lines) == 1
    assert api.lists >= 2  # listed again after the 410
    [event] = finished  # exactly once
    assert event.execution_id == execution_id
    assert event.result.end_reason is EndReason.COMPLETED, event.result
    assert event.result.stdout == "ran while the monitor was away\n"
    [start] = starts
    assert start.execution_id == execution_id
