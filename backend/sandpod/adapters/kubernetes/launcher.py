"""KubernetesLauncher: the Sandbox port as one hardened pod per execution."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from sandpod.adapters.kubernetes.api import (
    AlreadyExistsError,
    ExecutorApi,
    KubeApiError,
    NotFoundError,
    PodApi,
)
from sandpod.adapters.kubernetes.framing import BLOCK_START, FramingError, parse_live_line
from sandpod.adapters.kubernetes.manifests import (
    CANARY_LABEL,
    CANCELLED_ANNOTATION,
    EXECUTION_ID_ANNOTATION,
    EXECUTION_ID_LABEL,
    EXECUTOR_SELECTOR,
    NETWORK_POLICY_NAME,
    Manifest,
    PodOptions,
    check_namespace,
    config_map_data,
    config_map_manifest,
    execution_label_value,
    namespace_labels,
    network_policy_manifest,
    pod_manifest,
    resource_name,
)
from sandpod.adapters.kubernetes.monitor import PodMonitor
from sandpod.domain.events import ExecutionFinished
from sandpod.domain.limits import Limits
from sandpod.domain.output import OutputStream
from sandpod.domain.result import Result
from sandpod.domain.runtimes import CATALOGUE, Runtime
from sandpod.ports import OutputSink, SandboxJob

log = logging.getLogger(__name__)

PROBE_TIMEOUT_GRACE_SECONDS = 120.0  # scheduling and container start, on top of the job's wall time
# Between tries to follow the log of a container that has not started: doubling to a cap that
# bounds both the first output's delay and what a Pending pod costs the API server (2/s).
LOG_WAIT_SECONDS = (0.1, 0.5)


class KubernetesSetupError(RuntimeError):
    """The namespace is not ready for executor pods and we cannot make it so."""


class ClosableExecutorApi(ExecutorApi, PodApi, Protocol):
    async def close(self) -> None: ...


Connect = Callable[[], Awaitable[ClosableExecutorApi]]


def _policy_shape(spec: Manifest) -> Manifest:
    # The API server drops empty rule lists; compare what matters.
    return {
        "podSelector": spec.get("podSelector") or {},
        "policyTypes": sorted(spec.get("policyTypes") or []),
        "ingress": spec.get("ingress") or [],
        "egress": spec.get("egress") or [],
    }


class KubernetesLauncher:
    name = "kubernetes"
    reports_start = True  # the pod monitor publishes `started` when the container runs

    def __init__(
        self,
        connect: Connect,
        *,
        namespace: str,
        options: PodOptions | None = None,
        runtimes: Sequence[Runtime] = CATALOGUE,
        max_pod_pids: int = 512,
    ) -> None:
        check_namespace(namespace)
        self.max_pod_pids = max_pod_pids
        self.namespace = namespace
        self.options = options or PodOptions()
        self._connect = connect
        self._api: ClosableExecutorApi | None = None
        self._lock = asyncio.Lock()
        self._runtimes = list(runtimes)
        # Live views being followed, by execution id; each follow removes itself when it ends.
        self._follows: dict[str, tuple[asyncio.Task[None], OutputSink]] = {}

    async def _client(self) -> ClosableExecutorApi:
        # Connect lazily: loading a kubeconfig is async, building the launcher is not.
        async with self._lock:
            if self._api is None:
                self._api = await self._connect()
            return self._api

    async def close(self) -> None:
        # Live views still followed end here; their pods' results still come from the monitor.
        tasks = [task for task, _ in self._follows.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # A follow cancelled before its first step never ran its own close.
        for _, output in self._follows.values():
            await output.close()
        self._follows.clear()
        if self._api is not None:
            await self._api.close()
            self._api = None

    def runtimes(self) -> list[Runtime]:
        return list(self._runtimes)

    async def prepare(self) -> None:
        """At worker start: Pod Security labels on the namespace and the deny-all NetworkPolicy."""
        api = await self._client()
        namespace = await api.read_namespace()
        if namespace is None:
            raise KubernetesSetupError(
                f"namespace {self.namespace!r} does not exist: apply deploy/namespace.yaml"
            )
        labels = (namespace.get("metadata") or {}).get("labels") or {}
        missing = {
            key: value for key, value in namespace_labels().items() if labels.get(key) != value
        }
        if missing:
            try:
                await api.label_namespace(missing)
            except KubeApiError as exc:
                raise KubernetesSetupError(
                    f"namespace {self.namespace!r} lacks the Pod Security 'restricted' labels and"
                    f" they cannot be set ({exc}): apply deploy/namespace.yaml and deploy/rbac.yaml"
                ) from exc
        policy = network_policy_manifest(self.namespace)
        existing = await api.read_network_policy(NETWORK_POLICY_NAME)
        if existing is None:
            with contextlib.suppress(AlreadyExistsError):  # another worker was quicker
                await api.create_network_policy(policy)
        elif _policy_shape(existing.get("spec") or {}) != _policy_shape(policy["spec"]):
            await api.replace_network_policy_spec(NETWORK_POLICY_NAME, policy["spec"])

    async def run(self, job: SandboxJob) -> None:
        """Start the job's pod; the pod monitor reports its end. The job's output (when it has a
        sink) is followed from the pod log in the background, and closed when the log ends."""
        output = job.output
        try:
            started = await self._launch(job, canary=False)
        except BaseException:
            if output is not None:
                await output.close()
            raise
        if output is None or job.execution_id in self._follows:
            return  # a second launch of a job followed here: that follow ends the output
        if not started:
            await output.close()
            return
        self._follows[job.execution_id] = (asyncio.create_task(self._follow(job, output)), output)

    async def _follow(self, job: SandboxJob, output: OutputSink) -> None:
        """Hand the pod's live lines to `output` until the final block (or the pod's end)."""
        name = resource_name(job.execution_id)
        loop = asyncio.get_running_loop()
        timeout = job.limits.wall_seconds + PROBE_TIMEOUT_GRACE_SECONDS
        deadline = loop.time() + timeout
        seen = 0  # lines handed over: a follow that broke off resumes after them
        wait = LOG_WAIT_SECONDS[0]
        try:
            api = await self._client()
            while True:
                try:
                    index = 0
                    # Closed on every way out: a stream left suspended holds its connection.
                    lines = api.follow_log(name, timeout_seconds=timeout)
                    async with contextlib.aclosing(lines):
                        async for line in lines:
                            index += 1
                            if index <= seen:
                                continue
                            seen = index
                            if line.startswith(BLOCK_START):
                                return  # the final block: the live output is complete
                            piece = parse_live_line(line)
                            if piece is not None:
                                stream = OutputStream(piece.stream)
                                output.write(stream, piece.data, truncated=piece.cut)
                    return  # the container ended without a block (deleted, cancelled)
                except NotFoundError:
                    return
                except KubeApiError as error:
                    # 400 while the container waits to start; a dropped stream is resumed.
                    if loop.time() >= deadline:
                        raise
                    if error.status not in (400, None):
                        raise
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, LOG_WAIT_SECONDS[1])
        except (KubeApiError, FramingError) as error:
            # A live view only: the result still carries all the output.
            log.warning(
                "live output not followed: %s", error, extra={"execution_id": job.execution_id}
            )
        finally:
            self._follows.pop(job.execution_id, None)
            await output.close()

    def process_budget(self, limits: Limits) -> int:
        # The kubelet's podPidsLimit bounds a pod, whatever the execution's own limit.
        return self.max_pod_pids

    async def _launch(self, job: SandboxJob, *, canary: bool) -> bool:
        """Create the Pod, then its ConfigMap owned by it. Launching twice is harmless (409).

        False when the pod existed and is gone (it ran and was reported, or was cancelled)."""
        config_map_data(job)  # fail on an oversized script before creating anything
        api = await self._client()
        pod = pod_manifest(job, namespace=self.namespace, options=self.options, canary=canary)
        name = pod["metadata"]["name"]
        try:
            created = await api.create_pod(pod)
        except AlreadyExistsError:
            found = await api.read_pod(name)
            if found is None:
                return False
            created = found
        annotations = (created.get("metadata") or {}).get("annotations") or {}
        if annotations.get(EXECUTION_ID_ANNOTATION) != job.execution_id:
            raise KubeApiError(409, f"pod {name} belongs to another execution")
        uid = created["metadata"]["uid"]
        body = config_map_manifest(job, namespace=self.namespace, pod_name=name, pod_uid=uid)
        try:
            await api.create_config_map(body)
        except AlreadyExistsError:
            pass  # a previous launch got this far
        except KubeApiError:
            await api.delete_pod(name, uid=uid)  # never leave a pod waiting for a missing volume
            raise
        return True

    async def cancel(self, execution_id: str) -> bool:
        """Mark the pod cancelled, then delete it; the monitor reports `cancelled` on deletion."""
        api = await self._client()
        name = resource_name(execution_id)
        if not await api.annotate_pod(name, {CANCELLED_ANNOTATION: "true"}):
            return False
        await api.delete_pod(name)
        return True

    async def probe(self, job: SandboxJob) -> Result:
        """Run `job` in a canary pod and wait for its result (the isolation check).

        The pod is an ordinary executor pod (same spec, policy and admission) with the canary
        label, which the pod monitor ignores: a private monitor reports and deletes it here.
        """
        api = await self._client()
        finished: asyncio.Queue[ExecutionFinished] = asyncio.Queue()
        stop = asyncio.Event()

        async def publish(event: ExecutionFinished) -> None:
            await finished.put(event)
            stop.set()

        selector = (
            f"{EXECUTOR_SELECTOR},{CANARY_LABEL}=true,"
            f"{EXECUTION_ID_LABEL}={execution_label_value(job.execution_id)}"
        )
        monitor = asyncio.create_task(PodMonitor(api, publish, label_selector=selector).run(stop))
        try:
            await self._launch(job, canary=True)
            timeout = job.limits.wall_seconds + PROBE_TIMEOUT_GRACE_SECONDS
            event = await asyncio.wait_for(finished.get(), timeout=timeout)
        except TimeoutError:
            await api.delete_pod(resource_name(job.execution_id))
            return Result.platform_error("the canary pod did not finish in time")
        finally:
            stop.set()
            await monitor
        return event.result
