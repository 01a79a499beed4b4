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
from sandpod.adapters.kubernetes.entrypoint import MAGIC, STARTED_FRAME, SUMMARY_FRAME, encode_job
from sandpod.adapters.kubernetes.framing import (
    BLOCK_START,
    FramingError,
    parse_live_line,
    parse_summary,
    read_report,
)
from sandpod.adapters.kubernetes.manifests import (
    CANARY_LABEL,
    CANCELLED_ANNOTATION,
    EXECUTION_ID_ANNOTATION,
    EXECUTION_ID_LABEL,
    EXECUTOR_SELECTOR,
    HANDLED_ANNOTATION,
    NETWORK_POLICY_NAME,
    Manifest,
    PodOptions,
    check_namespace,
    config_map_data,
    config_map_manifest,
    execution_label_value,
    handover_patch,
    namespace_labels,
    network_policy_manifest,
    pod_manifest,
    resource_name,
    warm_job_arguments,
    warm_job_files,
)
from sandpod.adapters.kubernetes.monitor import PodMonitor
from sandpod.adapters.kubernetes.outcome import Ending, build_result, log_is_whole
from sandpod.adapters.kubernetes.warm import WarmPod, WarmPods
from sandpod.config import ExecutionSettings
from sandpod.domain.events import ExecutionFinished
from sandpod.domain.limits import LimitPolicy, Limits
from sandpod.domain.output import OutputStream
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import CATALOGUE, Runtime
from sandpod.ports import OutputSink, SandboxJob

log = logging.getLogger(__name__)

PROBE_TIMEOUT_GRACE_SECONDS = 120.0  # scheduling and container start, on top of the job's wall time
# Between tries to follow the log of a container that has not started: doubling to a cap that
# bounds both the first output's delay and what a Pending pod costs the API server (2/s).
LOG_WAIT_SECONDS = (0.1, 0.5)
WARM_STARTED = f"{MAGIC} {STARTED_FRAME}".encode()  # a warm pod's first line: it has the job
_SUMMARY_START = f"{MAGIC} {SUMMARY_FRAME} ".encode()
_BLOCK_END = f"{MAGIC} end\n".encode()


class _WarmRun:
    """An execution being served by a warm pod (cancel() may arrive while it is claimed)."""

    def __init__(self) -> None:
        self.pod: WarmPod | None = None
        self.cancelled = False

    def is_cancelled(self) -> bool:  # a method: cancel() sets the flag while run() waits
        return self.cancelled


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
        warm_pool_size: int = 0,
        warm_pool_runtimes: Sequence[str] = (),
        warm_idle_seconds: int = 300,
        limit_policy: LimitPolicy | None = None,
    ) -> None:
        """With `warm_pool_size` > 0, that many pods per runtime in `warm_pool_runtimes` wait
        started (warm.py), made with each runtime's default limits under `limit_policy`."""
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
        self._warm_runs: dict[str, _WarmRun] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._pool: WarmPods | None = None
        warm = [runtime for runtime in self._runtimes if runtime.id in warm_pool_runtimes]
        if warm_pool_size > 0 and warm:
            policy = limit_policy or ExecutionSettings().limit_policy
            self._pool = WarmPods(
                self._client,
                runtimes=warm,
                limits_for=lambda runtime: runtime.limits.policy(policy).defaults,
                namespace=namespace,
                options=self.options,
                size=warm_pool_size,
                idle_seconds=warm_idle_seconds,
            )

    async def _client(self) -> ClosableExecutorApi:
        # Connect lazily: loading a kubeconfig is async, building the launcher is not.
        async with self._lock:
            if self._api is None:
                self._api = await self._connect()
            return self._api

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        await asyncio.gather(*self._background, return_exceptions=True)
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
        if self._pool is not None:  # only now: no pod may exist before the deny-all policy
            self._pool.start()

    @property
    def warm_claims(self) -> int:
        """How many executions ran in a warm pod."""
        return self._pool.claims if self._pool is not None else 0

    async def warm_up(self) -> None:
        """Wait until the warm pool is full (prepare() starts it)."""
        if self._pool is not None:
            await self._pool.full()

    async def run(self, job: SandboxJob) -> Result | None:
        """Start the job's pod; the pod monitor reports its end. The job's output (when it has a
        sink) is followed from the pod log in the background, and closed when the log ends.

        In a warm pod the result comes back on the attached stream and is returned (None when
        that stream broke: the monitor reports the pod then)."""
        if job.execution_id in self._warm_runs:
            return None  # a warm pod here serves it already: that run reports it
        if self._pool is not None:
            run = self._warm_runs[job.execution_id] = _WarmRun()
            try:
                served, result = await self._run_warm(job, run)
            finally:
                del self._warm_runs[job.execution_id]
            if served:
                return result
            if run.is_cancelled():  # while no warm pod was found: start nothing
                return Result(end_reason=EndReason.CANCELLED, message="cancelled")
        await self._run_cold(job)
        return None

    async def _run_cold(self, job: SandboxJob) -> None:
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
        last = False  # the pod showed the container's end before this pass: its log is whole
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
                    # Ended without the block. Not always the container's end: the API server
                    # answers an empty 200 while the pod has no node yet (the scheduler lags
                    # create_pod under load), and a stream can end early. Only a pass begun
                    # after the pod showed the end has read all there is.
                    if last or loop.time() >= deadline:
                        return
                    pod = await api.read_pod(name)
                    if pod is None:
                        return
                    last = log_is_whole(pod)
                    if last:
                        continue  # at once: what was written since this pass is still to read
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

    async def _run_warm(self, job: SandboxJob, run: _WarmRun) -> tuple[bool, Result | None]:
        """(False, None) when no warm pod took the job (run it cold); else (True, its result or
        None when the monitor will report it)."""
        assert self._pool is not None
        config_map_data(job)  # the same size rule as a cold pod
        warm = await self._pool.claim(job)
        if warm is None:
            return False, None
        run.pod = warm
        log.info("runs in warm pod %s", warm.name, extra={"execution_id": job.execution_id})
        api = await self._client()
        if run.is_cancelled():
            self._after(self._give_up(api, warm))
            return True, Result(end_reason=EndReason.CANCELLED, message="cancelled")
        payload = encode_job(warm_job_arguments(job, self.options), warm_job_files(job))
        output = job.output
        handover: asyncio.Task[None] | None = None
        summary: bytes | None = None
        block: bytearray | None = None
        try:
            lines = api.attach(
                warm.name,
                payload,
                timeout_seconds=job.limits.wall_seconds + PROBE_TIMEOUT_GRACE_SECONDS,
            )
            # To the stream's end (the container's): the report is the last summary line and the
            # block after it, written once every other process in the pod is dead.
            async with contextlib.aclosing(lines):
                async for line in lines:
                    if line.startswith(_SUMMARY_START):
                        summary, block = line[len(_SUMMARY_START) :], None
                    elif line.startswith(BLOCK_START):
                        block = bytearray(line)
                    elif block is not None:
                        block += line
                    elif handover is None and line.startswith(WARM_STARTED):
                        handover = asyncio.create_task(self._hand_over(api, warm))
                        self._background.add(handover)
                        handover.add_done_callback(self._background.discard)
                        if job.on_start is not None:  # the monitor never sees this start
                            await job.on_start()
                    elif output is not None and summary is None:
                        piece = parse_live_line(line)
                        if piece is not None:
                            stream = OutputStream(piece.stream)
                            output.write(stream, piece.data, truncated=piece.cut)
        except (KubeApiError, FramingError) as error:
            log.warning(
                "warm pod %s: %s", warm.name, error, extra={"execution_id": job.execution_id}
            )
        if handover is None:  # the pod never had the job: it runs nowhere yet
            self._after(self._give_up(api, warm))
            if run.is_cancelled():
                return True, Result(end_reason=EndReason.CANCELLED, message="cancelled")
            log.warning("warm pod %s did not take the job: starting it cold", warm.name)
            return False, None
        result = self._warm_result(job, summary, block)
        if result is not None:
            self._after(self._finish_warm(api, warm, handover))
            return True, result
        if run.is_cancelled():
            return True, Result(end_reason=EndReason.CANCELLED, message="cancelled")
        if output is not None:
            await output.close()
        return True, None  # handed over: the monitor reports the pod

    def _warm_result(
        self, job: SandboxJob, summary_line: bytes | None, block: bytearray | None
    ) -> Result | None:
        if summary_line is None or block is None or not block.endswith(_BLOCK_END):
            return None
        try:
            summary = parse_summary(summary_line.decode("ascii", errors="replace"))
            streams = read_report(
                bytes(block),
                summary,
                max_bytes=job.limits.output_bytes,
                max_file_bytes=self.options.output_files_max_bytes,
            )
        except FramingError as error:
            log.warning("warm pod report: %s", error, extra={"execution_id": job.execution_id})
            return None
        ending = Ending(reason=None, collect=True, exit_code=summary.container_exit)
        return build_result(ending, summary=summary, streams=streams)

    def _after(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except KubeApiError as error:  # the pool's reaper deletes what is left
                log.warning("warm pod clean-up: %s", error)

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _hand_over(self, api: ClosableExecutorApi, warm: WarmPod) -> None:
        await api.claim_pod(warm.name, handover_patch())
        assert self._pool is not None
        self._pool.let_go(warm)

    async def _give_up(self, api: ClosableExecutorApi, warm: WarmPod) -> None:
        assert self._pool is not None
        self._pool.let_go(warm)
        await api.delete_pod(warm.name, uid=warm.uid)

    async def _finish_warm(
        self, api: ClosableExecutorApi, warm: WarmPod, handover: asyncio.Task[None]
    ) -> None:
        """The result is out: the monitor must not report the pod again, then it goes."""
        await handover
        await api.annotate_pod(warm.name, {HANDLED_ANNOTATION: "true"})
        await api.delete_pod(warm.name, uid=warm.uid)

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
        run = self._warm_runs.get(execution_id)
        if run is not None:
            run.cancelled = True
            if run.pod is None:
                return True  # being claimed: the run sees the flag
        api = await self._client()
        name = (
            run.pod.name if run is not None and run.pod is not None else resource_name(execution_id)
        )
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
