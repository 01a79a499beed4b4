"""KubernetesApi (the real kubernetes_asyncio adapter) against a small fake API server over HTTP:
paths, query parameters, patch content types, watch streaming, error mapping. Then launcher and
monitor together through it, from launch to the deleted pod."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from kubernetes_asyncio.client import ApiClient, Configuration

from sandpod.adapters.kubernetes import (
    KubernetesConfigError,
    UnsafeNamespaceError,
    build_kubernetes_launcher,
    run_pod_monitor,
)
from sandpod.adapters.kubernetes import entrypoint as ep
from sandpod.adapters.kubernetes.api import (
    AlreadyExistsError,
    KubeApiError,
    KubernetesApi,
    ResourceExpiredError,
)
from sandpod.adapters.kubernetes.client import find_kube_config
from sandpod.adapters.kubernetes.launcher import KubernetesLauncher
from sandpod.adapters.kubernetes.manifests import EXECUTOR_SELECTOR, MONITOR_SELECTOR, resource_name
from sandpod.adapters.kubernetes.monitor import PodMonitor
from sandpod.config import KubernetesSettings, Settings
from sandpod.domain.events import ExecutionFinished, ExecutionStarted
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.runtimes import python
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import SandboxJob

NS = "sandpod-executions"
Obj = dict[str, Any]


class FakeApiServer:
    """Just enough of the Kubernetes API for sandpod's calls, with a request log."""

    def __init__(self) -> None:
        self.pods: dict[str, Obj] = {}
        self.config_maps: dict[str, Obj] = {}
        self.policies: dict[str, Obj] = {}
        self.namespace: Obj = {"metadata": {"name": NS, "labels": {}}}
        self.logs: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, dict[str, str], str | None]] = []
        self.bodies: list[Any] = []
        self.watch_streams: list[list[Obj]] = []
        self.watch_status = 200
        self.page_size = 2
        self.version = 1000
        self.changes: asyncio.Queue[Obj] = asyncio.Queue()
        self.url = ""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        self.app = app

    def next_version(self) -> str:
        self.version += 1
        return str(self.version)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        payload: Any = json.loads(body) if body else None
        self.requests.append(
            (request.method, request.path, dict(request.query), request.headers.get("Content-Type"))
        )
        self.bodies.append(payload)
        parts = request.path.strip("/").split("/")
        pods = f"/api/v1/namespaces/{NS}/pods"
        policies = f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies"
        if request.path == pods and request.method == "GET":
            if request.query.get("watch", "").lower() == "true":  # the client sends "True"
                return await self.watch(request)
            return self.list_pods(request)
        if request.path == pods and request.method == "POST":
            return self.create(self.pods, payload, uid=True)
        if request.path.startswith(pods + "/") and parts[-1] == "log":
            return self.log(parts[-2], request)
        if request.path.startswith(pods + "/"):
            return self.pod(parts[-1], request.method, payload)
        if request.path == f"/api/v1/namespaces/{NS}/configmaps":
            return self.create(self.config_maps, payload)
        if request.path == policies:
            return self.create(self.policies, payload)
        if request.path.startswith(policies + "/"):
            return self.policy(parts[-1], request.method, payload)
        if request.path == f"/api/v1/namespaces/{NS}":
            if request.method == "PATCH":
                self.namespace["metadata"]["labels"].update(payload["metadata"]["labels"])
            return web.json_response(self.namespace)
        return status(404, "NotFound", f"no route {request.path}")

    def list_pods(self, request: web.Request) -> web.Response:
        items = sorted(self.pods.values(), key=lambda pod: pod["metadata"]["name"])
        start = int(request.query.get("continue") or 0)
        page = items[start : start + self.page_size]
        metadata: Obj = {"resourceVersion": str(self.version + start)}  # differs per page
        if start + self.page_size < len(items):
            metadata["continue"] = str(start + self.page_size)
        return web.json_response({"kind": "PodList", "metadata": metadata, "items": page})

    async def watch(self, request: web.Request) -> web.StreamResponse:
        if self.watch_status != 200:
            return status(self.watch_status, "Expired", "too old resource version")
        response = web.StreamResponse()
        await response.prepare(request)
        lines = self.watch_streams.pop(0) if self.watch_streams else None
        if lines is None:  # live: stream the changes the test makes until the client goes away
            while request.transport is not None and not request.transport.is_closing():
                try:
                    change = await asyncio.wait_for(self.changes.get(), timeout=0.05)
                except TimeoutError:
                    continue
                await response.write(json.dumps(change).encode() + b"\n")
            return response
        for line in lines:
            await response.write(json.dumps(line).encode() + b"\n")
        return response

    def create(self, store: dict[str, Obj], payload: Obj, *, uid: bool = False) -> web.Response:
        name = payload["metadata"]["name"]
        if name in store:
            return status(409, "AlreadyExists", f"{name} already exists")
        if uid:
            payload["metadata"]["uid"] = f"uid-{name}"
        payload["metadata"]["resourceVersion"] = self.next_version()
        store[name] = payload
        return web.json_response(payload, status=201)

    def pod(self, name: str, method: str, payload: Any) -> web.Response:
        pod = self.pods.get(name)
        if pod is None:
            return status(404, "NotFound", f'pods "{name}" not found')
        if method == "PATCH":
            pod["metadata"]["annotations"].update(payload["metadata"]["annotations"])
        if method == "DELETE":
            expected = ((payload or {}).get("preconditions") or {}).get("uid")
            if expected and expected != pod["metadata"]["uid"]:
                return status(409, "Conflict", "Precondition failed: UID in precondition")
            del self.pods[name]
            self.changes.put_nowait({"type": "DELETED", "object": pod})
        return web.json_response(pod)

    def policy(self, name: str, method: str, payload: Any) -> web.Response:
        if name not in self.policies:
            return status(404, "NotFound", "no policy")
        if method == "PATCH":
            (operation,) = payload
            self.policies[name]["spec"] = operation["value"]
        return web.json_response(self.policies[name])

    def log(self, name: str, request: web.Request) -> web.Response:
        if name not in self.pods:
            return status(404, "NotFound", f'pods "{name}" not found')
        lines = self.logs.get(name, b"").splitlines(keepends=True)
        tail = int(request.query.get("tailLines", len(lines)))
        return web.Response(body=b"".join(lines[-tail:]), content_type="text/plain")


def status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "status": "Failure",
        "reason": reason,
        "message": message,
        "code": code,
    }
    return web.json_response(body, status=code)


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeApiServer, KubernetesApi]]:
    fake = FakeApiServer()
    runner = web.AppRunner(fake.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    configuration = Configuration(host=fake.url)
    api = KubernetesApi(ApiClient(configuration), NS, watch_timeout_seconds=5)
    try:
        yield fake, api
    finally:
        await api.close()
        await runner.cleanup()


def pod(name: str, **status: Any) -> Obj:
    return {
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "resourceVersion": "7",
            "annotations": {"sandpod.io/execution-id": name},
        },
        "status": status,
    }


async def test_list_follows_continue_tokens_and_keeps_the_first_version(
    server: tuple[FakeApiServer, KubernetesApi],
) -> None:
    fake, api = server
    for name in "abcde":
        fake.pods[name] = pod(name)
    listing = await api.list_pods(EXECUTOR_SELECTOR)
    assert [p["metadata"]["name"] for p in listing.pods] == list("abcde")
    assert listing.resource_version == "1000"
    method, path, query, _ = fake.requests[0]
    assert (method, path) == ("GET", f"/api/v1/namespaces/{NS}/pods")
    assert query["labelSelector"] == EXECUTOR_SELECTOR
    assert [q.get("continue") for _, _, q, _ in fake.requests] == [None, "2", "4"]


async def test_watch_streams_events_with_bookmarks(
    server: tuple[FakeApiServer, KubernetesApi],
) -> None:
    fake, api = server
    fake.watch_streams.append(
        [
            {
                "type": "ADDED",
                "object": pod("a") | {"metadata": {"name": "a", "resourceVersion": "11"}},
            },
            {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "12"}}},
            {
                "type": "DELETED",
                "object": pod("a") | {"metadata": {"name": "a", "resourceVersion": "13"}},
            },
        ]
    )
    events = [event async for event in api.watch_pods(EXECUTOR_SELECTOR, "10")]
    assert [(e.type, e.resource_version) for e in events] == [
        ("ADDED", "11"),
        ("BOOKMARK", "12"),
        ("DELETED", "13"),
    ]
    _, _, query, _ = fake.requests[0]
    assert query["watch"].lower() == "true"
    assert query["resourceVersion"] == "10"
    assert query["allowWatchBookmarks"].lower() == "true"
    assert query["timeoutSeconds"] == "5"


async def test_watch_gone_as_an_event_or_a_status_is_resource_expired(
    server: tuple[FakeApiServer, KubernetesApi],
) -> None:
    fake, api = server
    gone = {
        "kind": "Status",
        "code": 410,
        "reason": "Expired",
        "message": "too old resource version",
    }
    fake.watch_streams.append([{"type": "ERROR", "object": gone}])
    with pytest.raises(ResourceExpiredError, match="too old"):
        [event async for event in api.watch_pods(EXECUTOR_SELECTOR, "1")]
    fake.watch_status = 410
    with pytest.raises(ResourceExpiredError):
        [event async for event in api.watch_pods(EXECUTOR_SELECTOR, "1")]


async def test_log_is_raw_bytes_of_the_sandbox_container_tail(
    server: tuple[FakeApiServer, KubernetesApi],
) -> None:
    fake, api = server
    fake.pods["a"] = pod("a")
    fake.logs["a"] = b"\xff noise\nline 2\nline 3\n"
    assert await api.read_log("a", tail_lines=2) == b"line 2\nline 3\n"
    _, path, query, _ = fake.requests[-1]
    assert path.endswith("/pods/a/log")
    assert query == {"container": "sandbox", "tailLines": "2"}


async def test_delete_sends_the_uid_precondition_and_tolerates_404_and_409(
    server: tuple[FakeApiServer, KubernetesApi],
) -> None:
    fake, api = server
    fake.pods["a"] = pod("a")
    await api.delete_pod("a", uid="someone-else")  # 409: a newer pod owns the name
    assert "a" in fake.pods
    await api.delete_pod("a", uid="uid-a")
    assert fake.bodies[-1] == {"gracePeriodSeconds": 0, "preconditions": {"uid": "uid-a"}}
    assert "a" not in fake.pods
    await api.delete_pod("a", uid="uid-a")  # 404


async def test_errors_map_to_typed_exceptions(server: tuple[FakeApiServer, KubernetesApi]) -> None:
    fake, api = server
    body = {"metadata": {"name": "a", "annotations": {}}}
    await api.create_pod(body)
    with pytest.raises(AlreadyExistsError, match="already exists"):
        await api.create_pod(body)
    assert await api.read_pod("missing") is None
    assert await api.annotate_pod("missing", {"x": "y"}) is False
    assert await api.annotate_pod("a", {"x": "y"}) is True
    assert fake.requests[-1][3] == "application/strategic-merge-patch+json"


async def test_policy_spec_is_replaced_with_a_json_patch(
    server: tuple[FakeApiServer, KubernetesApi],
) -> None:
    fake, api = server
    fake.policies["p"] = {"metadata": {"name": "p"}, "spec": {"egress": [{"to": []}]}}
    await api.replace_network_policy_spec("p", {"podSelector": {}})
    assert fake.requests[-1][3] == "application/json-patch+json"
    assert fake.bodies[-1] == [{"op": "replace", "path": "/spec", "value": {"podSelector": {}}}]
    assert fake.policies["p"]["spec"] == {"podSelector": {}}


async def test_an_unreachable_server_is_a_connection_error() -> None:
    api = KubernetesApi(ApiClient(Configuration(host="http://127.0.0.1:9")), NS)
    try:
        with pytest.raises(KubeApiError, match="connection") as caught:
            await api.list_pods(EXECUTOR_SELECTOR)
        assert caught.value.status is None
    finally:
        await api.close()


async def test_launch_run_cancel_through_the_real_adapter(
    server: tuple[FakeApiServer, KubernetesApi],
) -> None:
    fake, api = server

    async def connect() -> KubernetesApi:
        return api

    launcher = KubernetesLauncher(connect, namespace=NS)
    await launcher.prepare()
    assert (
        fake.namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    )
    assert "sandpod-executors-deny-all" in fake.policies

    def job(execution_id: str) -> SandboxJob:
        return SandboxJob(
            execution_id=execution_id,
            runtime=python("3.12"),
            script="print('hi')\n",
            stdin="",
            limits=DEFAULT_POLICY.defaults,
        )

    await launcher.run(job("ex_done"))
    await launcher.run(job("ex_cancel"))
    done_name = resource_name("ex_done")
    cm = fake.config_maps[done_name]
    assert cm["metadata"]["ownerReferences"][0]["uid"] == f"uid-{done_name}"

    published: list[ExecutionFinished] = []
    stop = asyncio.Event()

    async def publish(event: ExecutionFinished) -> None:
        published.append(event)
        if len(published) == 2:
            stop.set()

    task = asyncio.create_task(PodMonitor(api, publish).run(stop))
    # The pod runs, its entrypoint reports, the kubelet marks it Succeeded.
    block = ep.encode_frames([("stdout", b"hi\n"), ("stderr", b"")])
    summary = ep.build_summary(ep.Outcome(ep.EXITED, exit_code=0), block)
    fake.logs[done_name] = block
    finished = fake.pods[done_name]
    finished["status"] = {
        "phase": "Succeeded",
        "containerStatuses": [
            {"name": "sandbox", "state": {"terminated": {"exitCode": 0, "message": summary}}}
        ],
    }
    await fake.changes.put({"type": "MODIFIED", "object": finished})
    assert await launcher.cancel("ex_cancel") is True
    await asyncio.wait_for(task, timeout=10)

    results = {event.execution_id: event for event in published}
    assert results["ex_done"].status is ExecutionStatus.COMPLETED
    assert results["ex_done"].result.stdout == "hi\n"
    assert results["ex_cancel"].status is ExecutionStatus.CANCELLED
    assert fake.pods == {}  # the finished pod was deleted by the monitor, the other by cancel


def write_kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "runner", "user": {"token": "t0ken"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "runner"}}],
        "current-context": "fake",
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def test_kubeconfig_is_found_from_the_environment_or_a_clear_error(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "config", "http://127.0.0.1:1")
    source = find_kube_config({"KUBECONFIG": f"{tmp_path / 'missing'}:{config}"})
    assert (source.in_cluster, source.kubeconfig) == (False, str(config))
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    write_kubeconfig(home / ".kube" / "config", "http://127.0.0.1:1")
    assert find_kube_config({"HOME": str(home)}).kubeconfig == str(home / ".kube" / "config")
    # A service-account host without a token file is not in-cluster.
    with pytest.raises(KubernetesConfigError, match="set KUBECONFIG"):
        find_kube_config({"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "10.0.0.1"})


def test_builders_refuse_the_default_namespace_and_a_missing_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    with pytest.raises(UnsafeNamespaceError):
        build_kubernetes_launcher(Settings(kubernetes=KubernetesSettings(namespace="default")))
    with pytest.raises(KubernetesConfigError):
        build_kubernetes_launcher(Settings(kubernetes=KubernetesSettings(namespace=NS)))
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "config", "http://x:1")))
    launcher = build_kubernetes_launcher(
        Settings(kubernetes=KubernetesSettings(namespace=NS, runtime_class="gvisor"))
    )
    assert launcher.options.runtime_class == "gvisor"


async def test_run_pod_monitor_wires_kubeconfig_adapter_and_monitor(
    server: tuple[FakeApiServer, KubernetesApi],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, _ = server
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "config", fake.url)))
    fake.pods["gone"] = pod("ex_deadline", phase="Failed", reason="DeadlineExceeded")
    fake.pods["gone"]["metadata"]["name"] = "gone"
    stop = asyncio.Event()
    published: list[ExecutionFinished] = []

    async def publish(event: ExecutionFinished) -> None:
        published.append(event)
        stop.set()  # the pod at hand is still deleted before the monitor stops

    starts: list[ExecutionStarted] = []

    async def report_start(event: ExecutionStarted) -> None:
        starts.append(event)

    settings = Settings(kubernetes=KubernetesSettings(namespace=NS))
    await asyncio.wait_for(run_pod_monitor(settings, publish, stop, report_start), 10)
    assert starts == []  # its container never ran
    assert [(e.execution_id, e.status) for e in published] == [
        ("ex_deadline", ExecutionStatus.TIMED_OUT)
    ]
    assert fake.pods == {}
    assert any(query.get("labelSelector") == MONITOR_SELECTOR for _, _, query, _ in fake.requests)
