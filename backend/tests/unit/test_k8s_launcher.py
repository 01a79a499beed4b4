"""KubernetesLauncher against an in-memory ExecutorApi: ordering, idempotency, cancel, prepare."""

import asyncio
import copy
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import pytest

from sandpod.adapters.kubernetes.api import (
    AlreadyExistsError,
    KubeApiError,
    NotFoundError,
    PodListing,
    WatchEvent,
)
from sandpod.adapters.kubernetes.entrypoint import encode_frames, live_lines
from sandpod.adapters.kubernetes.launcher import KubernetesLauncher, KubernetesSetupError
from sandpod.adapters.kubernetes.manifests import (
    CANCELLED_ANNOTATION,
    NETWORK_POLICY_NAME,
    WARM_LABEL,
    ConfigMapTooLargeError,
    PodOptions,
    UnsafeNamespaceError,
    namespace_labels,
    network_policy_manifest,
    resource_name,
)
from sandpod.adapters.kubernetes.outcome import log_is_whole
from sandpod.domain.limits import CONFIG_MAP_MAX_BYTES, DEFAULT_POLICY
from sandpod.domain.output import OutputStream
from sandpod.domain.runtimes import CATALOGUE, python
from sandpod.ports import Sandbox, SandboxJob

NS = "sandpod-executions"
Manifest = dict[str, Any]


async def _no_lines(name: str, payload: bytes) -> AsyncIterator[bytes]:
    nothing: list[bytes] = []
    for line in nothing:
        yield line


class FakeApi:
    """The executor calls in memory; the monitor's calls (used by probe) see no pods."""

    async def list_pods(self, label_selector: str) -> PodListing:
        return PodListing(pods=[], resource_version="1")

    async def watch_pods(
        self, label_selector: str, resource_version: str
    ) -> AsyncIterator[WatchEvent]:
        nothing: list[WatchEvent] = []
        for event in nothing:
            yield event

    async def read_log(self, name: str, *, tail_lines: int) -> bytes:
        return b""

    async def follow_log(self, name: str, *, timeout_seconds: float) -> AsyncGenerator[bytes, None]:
        self._call("follow_log")
        answer = self.logs.pop(0) if self.logs else NotFoundError(404, "gone")
        self.open_logs += 1  # a real stream holds a connection until it is closed
        try:
            if isinstance(answer, asyncio.Event):
                await answer.wait()
                return
            for item in answer if isinstance(answer, list) else [answer]:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.open_logs -= 1

    def __init__(self, *, namespace_labels: dict[str, str] | None = None) -> None:
        self.pods: dict[str, Manifest] = {}
        self.config_maps: dict[str, Manifest] = {}
        self.policies: dict[str, Manifest] = {}
        self.namespace: Manifest | None = {
            "metadata": {"name": NS, "labels": dict(namespace_labels or {})}
        }
        self.calls: list[str] = []
        self.fail: dict[str, Exception] = {}
        # What each follow_log call answers: lines (an exception among them breaks off the
        # stream), an exception, or an Event it waits on (a pod still running).
        self.logs: list[list[bytes | Exception] | Exception | asyncio.Event] = []
        self.open_logs = 0
        self.closed = False
        self._uids = 0
        self.attached: list[tuple[str, bytes]] = []
        # What an attach to a warm pod answers (its stdout lines), given the pod and the job.
        self.attach_answer: Callable[[str, bytes], AsyncIterator[bytes]] = _no_lines

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail.pop(name)

    async def create_pod(self, body: Manifest) -> Manifest:
        self._call("create_pod")
        name = body["metadata"]["name"]
        if name in self.pods:
            raise AlreadyExistsError(409, "already exists")
        self._uids += 1
        created = copy.deepcopy(body)
        created["metadata"]["uid"] = f"uid-{self._uids}"
        if WARM_LABEL in created["metadata"]["labels"]:  # a warm pod's container starts at once
            created["status"] = {
                "phase": "Running",
                "containerStatuses": [{"name": "sandbox", "state": {"running": {}}}],
            }
        self.pods[name] = created
        return created

    async def read_pod(self, name: str) -> Manifest | None:
        self._call("read_pod")
        return self.pods.get(name)

    async def create_config_map(self, body: Manifest) -> None:
        self._call("create_config_map")
        name = body["metadata"]["name"]
        if name in self.config_maps:
            raise AlreadyExistsError(409, "already exists")
        self.config_maps[name] = body

    async def annotate_pod(self, name: str, annotations: dict[str, str]) -> bool:
        self._call("annotate_pod")
        if name not in self.pods:
            return False
        self.pods[name]["metadata"]["annotations"].update(annotations)
        return True

    async def delete_pod(self, name: str, *, uid: str | None = None) -> None:
        self._call("delete_pod")
        pod = self.pods.get(name)
        if pod is not None and uid in (None, pod["metadata"]["uid"]):
            del self.pods[name]
            self.config_maps.pop(name, None)  # owner-reference garbage collection

    async def read_network_policy(self, name: str) -> Manifest | None:
        self._call("read_network_policy")
        return self.policies.get(name)

    async def create_network_policy(self, body: Manifest) -> None:
        self._call("create_network_policy")
        if body["metadata"]["name"] in self.policies:
            raise AlreadyExistsError(409, "already exists")
        self.policies[body["metadata"]["name"]] = body

    async def replace_network_policy_spec(self, name: str, spec: Manifest) -> None:
        self._call("replace_network_policy_spec")
        self.policies[name] = dict(self.policies[name], spec=spec)

    async def read_namespace(self) -> Manifest | None:
        self._call("read_namespace")
        return self.namespace

    async def label_namespace(self, labels: dict[str, str]) -> None:
        self._call("label_namespace")
        assert self.namespace is not None
        self.namespace["metadata"]["labels"].update(labels)

    async def claim_pod(self, name: str, patch: list[Manifest]) -> Manifest | None:
        """A JSON patch over labels and annotations, all or nothing, as the API server does."""
        self._call("claim_pod")
        if name not in self.pods:
            return None
        updated = copy.deepcopy(self.pods[name])
        for op in patch:
            *parents, key = [part.replace("~1", "/") for part in op["path"].split("/")[1:]]
            target = updated
            for part in parents:
                target = target.setdefault(part, {})
            if op["op"] == "test":
                if target.get(key) != op["value"]:
                    return None  # 422 from a real server
            elif op["op"] == "remove":
                del target[key]
            else:
                target[key] = copy.deepcopy(op["value"])
        self.pods[name] = updated
        return copy.deepcopy(updated)

    async def attach(
        self, name: str, payload: bytes, *, timeout_seconds: float
    ) -> AsyncGenerator[bytes, None]:
        self._call("attach")
        self.attached.append((name, payload))
        async for line in self.attach_answer(name, payload):
            yield line

    async def close(self) -> None:
        self.closed = True


def launcher(api: FakeApi, **kwargs: Any) -> KubernetesLauncher:
    async def connect() -> FakeApi:
        return api

    return KubernetesLauncher(connect, namespace=NS, **kwargs)


def job(execution_id: str = "ex_1", script: str = "print(1)\n") -> SandboxJob:
    return SandboxJob(
        execution_id=execution_id,
        runtime=python("3.12"),
        script=script,
        stdin="",
        limits=DEFAULT_POLICY.defaults,
    )


async def test_launch_creates_the_pod_then_its_config_map_owned_by_it() -> None:
    api = FakeApi()
    await launcher(api, options=PodOptions(runtime_class="gvisor")).run(job())
    name = resource_name("ex_1")
    assert api.calls == ["create_pod", "create_config_map"]
    assert api.pods[name]["spec"]["runtimeClassName"] == "gvisor"
    owner = api.config_maps[name]["metadata"]["ownerReferences"][0]
    assert owner["uid"] == api.pods[name]["metadata"]["uid"]
    assert owner["kind"] == "Pod"
    assert owner["name"] == name


async def test_launching_twice_is_harmless() -> None:
    api = FakeApi()
    runner = launcher(api)
    await runner.run(job())
    await runner.run(job())
    assert len(api.pods) == 1
    assert len(api.config_maps) == 1
    assert api.calls == [
        "create_pod",
        "create_config_map",
        "create_pod",  # 409
        "read_pod",
        "create_config_map",  # 409, ignored
    ]


async def test_a_relaunch_after_a_crash_between_pod_and_config_map_completes_it() -> None:
    api = FakeApi()
    api.fail["create_config_map"] = KubeApiError(None, "connection reset")
    runner = launcher(api)
    with pytest.raises(KubeApiError):
        await runner.run(job())
    assert api.pods == {}  # the pod is not left waiting for a volume that never comes
    await runner.run(job())
    assert len(api.pods) == 1
    assert len(api.config_maps) == 1


async def test_a_pod_of_another_execution_under_the_same_name_is_an_error() -> None:
    api = FakeApi()
    runner = launcher(api)
    await runner.run(job())
    api.pods[resource_name("ex_1")]["metadata"]["annotations"]["sandpod.io/execution-id"] = "other"
    with pytest.raises(KubeApiError, match="another execution"):
        await runner.run(job())


async def test_an_oversized_script_is_refused_before_any_api_call() -> None:
    api = FakeApi()
    with pytest.raises(ConfigMapTooLargeError):
        await launcher(api).run(job(script="x" * (CONFIG_MAP_MAX_BYTES + 1)))
    assert api.calls == []


async def test_cancel_marks_the_pod_then_deletes_it() -> None:
    api = FakeApi()
    runner = launcher(api)
    await runner.run(job())
    annotated: list[str] = []
    original = api.delete_pod

    async def delete(name: str, *, uid: str | None = None) -> None:
        annotated.append(api.pods[name]["metadata"]["annotations"][CANCELLED_ANNOTATION])
        await original(name, uid=uid)

    api.delete_pod = delete  # type: ignore[method-assign]  # swap in a failing delete for this test
    assert await runner.cancel("ex_1") is True
    assert annotated == ["true"]  # the mark is there when the deletion happens
    assert api.pods == {}
    assert await runner.cancel("ex_1") is False  # nothing left to cancel


async def test_prepare_labels_the_namespace_and_creates_the_deny_all_policy() -> None:
    api = FakeApi(namespace_labels={"team": "sandpod"})
    await launcher(api).prepare()
    assert api.namespace is not None
    assert api.namespace["metadata"]["labels"] == {"team": "sandpod", **namespace_labels()}
    assert api.policies[NETWORK_POLICY_NAME] == network_policy_manifest(NS)


async def test_prepare_changes_nothing_when_everything_is_in_place() -> None:
    api = FakeApi(namespace_labels=namespace_labels())
    policy = network_policy_manifest(NS)
    # as read back from the API server, which drops the empty rule lists
    api.policies[NETWORK_POLICY_NAME] = {
        "metadata": policy["metadata"],
        "spec": {
            "podSelector": policy["spec"]["podSelector"],
            "policyTypes": ["Egress", "Ingress"],
        },
    }
    await launcher(api).prepare()
    assert api.calls == ["read_namespace", "read_network_policy"]


async def test_prepare_restores_a_weakened_policy() -> None:
    api = FakeApi(namespace_labels=namespace_labels())
    weakened = network_policy_manifest(NS)
    weakened["spec"]["egress"] = [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]
    api.policies[NETWORK_POLICY_NAME] = weakened
    await launcher(api).prepare()
    assert api.policies[NETWORK_POLICY_NAME]["spec"] == network_policy_manifest(NS)["spec"]


async def test_prepare_explains_what_to_apply_when_it_cannot_label_the_namespace() -> None:
    api = FakeApi()
    api.fail["label_namespace"] = KubeApiError(403, "forbidden")
    with pytest.raises(KubernetesSetupError, match=r"deploy/namespace\.yaml"):
        await launcher(api).prepare()


async def test_prepare_fails_clearly_without_the_namespace() -> None:
    api = FakeApi()
    api.namespace = None
    with pytest.raises(KubernetesSetupError, match="does not exist"):
        await launcher(api).prepare()


def test_refuses_the_default_namespace() -> None:
    async def connect() -> FakeApi:
        raise AssertionError("must not connect")

    with pytest.raises(UnsafeNamespaceError, match="'default'"):
        KubernetesLauncher(connect, namespace="default")


async def test_runtimes_are_the_catalogue_and_close_closes_the_client() -> None:
    api = FakeApi()
    runner: Sandbox = launcher(api)  # mypy checks it implements the port
    assert isinstance(runner, KubernetesLauncher)
    assert runner.name == "kubernetes"
    assert runner.runtimes() == list(CATALOGUE)
    await runner.run(job())
    await runner.close()
    assert api.closed


class Sink:
    """An OutputSink that keeps what it was given."""

    def __init__(self, api: FakeApi | None = None) -> None:
        self.writes: list[tuple[str, bytes, bool]] = []
        self.closed = asyncio.Event()
        self.api = api
        self.logs_open_at_close = 0

    def write(self, stream: OutputStream, data: bytes, *, truncated: bool = False) -> None:
        assert not self.closed.is_set(), "written after close"
        self.writes.append((stream.value, data, truncated))

    async def close(self) -> None:
        assert not self.closed.is_set(), "closed twice"
        self.logs_open_at_close = self.api.open_logs if self.api else 0
        self.closed.set()


def live(stream: str, data: bytes, *, cut: bool = False) -> bytes:
    return live_lines(stream, data, cut=cut)


BLOCK = encode_frames([("stdout", b"a"), ("stderr", b"b")]).splitlines(keepends=True)


def live_job(sink: Sink) -> SandboxJob:
    return SandboxJob(
        execution_id="ex_1",
        runtime=python("3.12"),
        script="print(1)\n",
        stdin="",
        limits=DEFAULT_POLICY.defaults,
        output=sink,
    )


async def test_live_lines_reach_the_output_in_order_and_it_ends_at_the_final_block() -> None:
    api = FakeApi()
    sink = Sink(api)
    api.logs = [
        KubeApiError(400, 'container "sandbox" is waiting to start: ContainerCreating'),
        [
            live("stdout", b"one\n"),
            b"a warning the entrypoint's interpreter printed\n",
            live("stderr", b"oops\n"),
            live("stdout", b"two", cut=True),
            *BLOCK,
            live("stdout", b"never read"),
        ],
    ]
    runner = launcher(api)
    await runner.run(live_job(sink))
    await runner.run(live_job(sink))  # launching again does not follow twice
    await asyncio.wait_for(sink.closed.wait(), 5)
    assert sink.writes == [
        ("stdout", b"one\n", False),
        ("stderr", b"oops\n", False),
        ("stdout", b"two", True),
    ]
    assert api.calls.count("follow_log") == 2  # waiting for the container, then following
    assert sink.logs_open_at_close == 0  # the stream left at the block was closed, not dropped
    await runner.close()


async def test_a_follow_that_breaks_off_resumes_after_the_lines_it_handed_over() -> None:
    api, sink = FakeApi(), Sink()
    lines: list[bytes | Exception] = [
        live("stdout", b"1"),
        live("stdout", b"2"),
        live("stdout", b"3"),
    ]
    lines += BLOCK
    api.logs = [[*lines[:2], KubeApiError(None, "ServerDisconnectedError")], lines]
    await launcher(api).run(live_job(sink))
    await asyncio.wait_for(sink.closed.wait(), 5)
    assert [data for _, data, _ in sink.writes] == [b"1", b"2", b"3"]


async def test_an_empty_log_of_a_pod_not_yet_on_a_node_is_followed_again() -> None:
    # The API server answers the log of an unscheduled pod with an empty 200 (it has no node to
    # ask): that is no end. Under load the scheduler is slower than create_pod; the follow ended
    # there and the live view stayed empty while the result had the output.
    api, sink = FakeApi(), Sink()
    api.logs = [[], [live("stdout", b"tick\n"), *BLOCK]]
    await launcher(api).run(live_job(sink))
    await asyncio.wait_for(sink.closed.wait(), 5)
    assert sink.writes == [("stdout", b"tick\n", False)]
    assert api.calls.count("follow_log") == 2


async def test_a_log_that_ends_without_the_block_ends_the_output_once_the_container_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api, sink = FakeApi(), Sink()
    statuses = [
        {"phase": "Running", "containerStatuses": [{"name": "sandbox", "state": {"running": {}}}]},
        {
            "phase": "Failed",
            "containerStatuses": [{"name": "sandbox", "state": {"terminated": {"exitCode": 137}}}],
        },
    ]

    async def read_pod(name: str) -> Manifest | None:
        api.calls.append("read_pod")
        pod = api.pods.get(name)
        if pod is not None:
            pod["status"] = statuses.pop(0)
        return pod

    monkeypatch.setattr(api, "read_pod", read_pod)
    # A stream dropped while the container runs, resumed; it ends without a block (killed): one
    # more read once the pod shows the end gets what was written in between, then it ends.
    one, two = live("stdout", b"1"), live("stdout", b"2")
    api.logs = [[one], [one, two], [one, two]]
    await launcher(api).run(live_job(sink))
    await asyncio.wait_for(sink.closed.wait(), 5)
    assert [data for _, data, _ in sink.writes] == [b"1", b"2"]
    assert api.calls.count("follow_log") == 3
    assert api.calls.count("read_pod") == 2


def test_a_pods_log_is_whole_once_its_container_can_write_no_more() -> None:
    def pod(status: Manifest, **metadata: Any) -> Manifest:
        return {"metadata": {"name": "p", "annotations": {}, **metadata}, "status": status}

    def container(state: Manifest, phase: str = "Running") -> Manifest:
        return {"phase": phase, "containerStatuses": [{"name": "sandbox", "state": state}]}

    assert not log_is_whole(pod({"phase": "Pending"}))  # not on a node yet
    assert not log_is_whole(pod(container({"waiting": {"reason": "ContainerCreating"}}, "Pending")))
    assert not log_is_whole(pod(container({"running": {}})))
    assert log_is_whole(pod(container({"terminated": {"exitCode": 0}})))  # before the phase
    assert log_is_whole(pod(container({"waiting": {"reason": "ErrImagePull"}}, "Pending")))
    assert log_is_whole(pod({"phase": "Failed", "reason": "DeadlineExceeded"}))
    assert log_is_whole(pod(container({"running": {}}), deletionTimestamp="2025-06-01T12:00:00Z"))


async def test_a_pod_gone_or_a_refused_follow_still_ends_the_output() -> None:
    for answer in (NotFoundError(404, "gone"), KubeApiError(403, "forbidden")):
        api, sink = FakeApi(), Sink()
        api.logs = [answer]
        await launcher(api).run(live_job(sink))
        await asyncio.wait_for(sink.closed.wait(), 5)
        assert sink.writes == []


async def test_a_failed_launch_ends_the_output_and_a_job_without_one_is_not_followed() -> None:
    api, sink = FakeApi(), Sink()
    api.fail["create_pod"] = KubeApiError(500, "etcd is down")
    with pytest.raises(KubeApiError):
        await launcher(api).run(live_job(sink))
    assert sink.closed.is_set()
    api = FakeApi()
    await launcher(api).run(job())
    assert "follow_log" not in api.calls


async def test_closing_the_launcher_ends_the_outputs_it_still_follows() -> None:
    for under_way in (True, False):  # a follow reading the log, and one not started yet
        api, sink = FakeApi(), Sink()
        api.logs = [asyncio.Event()]  # a pod that keeps running
        runner = launcher(api)
        await runner.run(live_job(sink))
        while under_way and "follow_log" not in api.calls:
            await asyncio.sleep(0)  # let the follow task reach the log (no time passes)
        await runner.close()
        assert sink.closed.is_set()
        assert api.open_logs == 0
