"""The pod monitor: turns executor pods' ends into exactly one terminal event each.

Loop: list the executor pods, then watch from the list's resourceVersion; on 410 Gone list again;
on any other failure reconnect with exponential backoff. Every pod object seen goes through
`handle`, a small state machine keyed by (execution id, pod uid):

- its container started running -> with `report_start`, one `started` event carrying the
  container's own start time (the program's start: the timeout sweep counts the wall limit from
  it, and a pod still Pending stays `queued`, under the queue timeout), before any `finished`;
- still going -> remembered (so a pod that vanishes between a watch and the next list is noticed);
- ended -> the result is collected (termination message + verified log frames), published, and only
  AFTER the publish succeeded the pod is deleted. A crash in between means the pod is still there
  on restart and the event is published again; the result processor's status machine rejects the
  duplicate, so the execution still reaches exactly one terminal state.
- already reported (in this lifetime) -> ignored, whatever order or how often events arrive.
"""

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sandpod.adapters.kubernetes import outcome
from sandpod.adapters.kubernetes.api import (
    KubeApiError,
    NotFoundError,
    Pod,
    PodApi,
    ResourceExpiredError,
)
from sandpod.adapters.kubernetes.framing import FramingError, parse_summary, read_report
from sandpod.adapters.kubernetes.manifests import MONITOR_SELECTOR, resource_name
from sandpod.domain.events import ExecutionFinished, ExecutionStarted
from sandpod.domain.execution import utcnow
from sandpod.domain.result import Result

log = logging.getLogger(__name__)

RUNNER_NAME = "kubernetes"  # the `runner` of the `started` events the monitor publishes

Publish = Callable[[ExecutionFinished], Awaitable[None]]
ReportStart = Callable[[ExecutionStarted], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]
Key = tuple[str, str]  # (execution id, pod uid)


class PublishError(RuntimeError):
    """The terminal event could not be published; it is kept and retried."""


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Capped exponential delay with jitter in [50%, 100%] (spreads reconnect storms)."""
        base: float = min(self.maximum, self.initial * self.factor**attempt)
        return base * (0.5 + 0.5 * rand())


@dataclass
class _Pending:
    event: ExecutionFinished
    pod_name: str | None  # None: the pod is already gone
    uid: str


def _version(pod: Pod) -> int | None:
    value = (pod.get("metadata") or {}).get("resourceVersion")
    # resourceVersions are opaque; they are compared only when both are plain integers (etcd)
    return int(value) if isinstance(value, str) and value.isdigit() else None


class PodMonitor:
    def __init__(
        self,
        api: PodApi,
        publish: Publish,
        *,
        label_selector: str = MONITOR_SELECTOR,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        remember: int = 10_000,
        stop_grace_seconds: float = 10.0,
        report_start: ReportStart | None = None,
    ) -> None:
        self._api = api
        self._publish = publish
        self._report_start = report_start
        self._selector = label_selector
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._rand = rand
        self._remember = remember
        self._active: dict[str, Pod] = {}  # uid -> last state of a pod still going
        self._done: OrderedDict[Key, None] = OrderedDict()  # reported in this lifetime (bounded)
        self._pending: dict[Key, _Pending] = {}  # ended but not yet published
        self._started: OrderedDict[Key, None] = OrderedDict()  # start reported (bounded)
        self.expired_watches = 0  # watches the API server refused with 410 Gone
        self._stop_grace = stop_grace_seconds
        self._stopping = False
        self._idle = asyncio.Event()  # clear while a pod is being handled
        self._idle.set()

    # ---------------------------------------------------------------- the loop
    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; a pod being reported is finished first (publish, delete)."""
        worker = asyncio.create_task(self._run_forever(), name="pod-monitor")
        stopper = asyncio.create_task(stop.wait(), name="pod-monitor-stop")
        try:
            await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not worker.done():
                self._stopping = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), self._stop_grace)
        finally:
            for task in (worker, stopper):
                task.cancel()
            await asyncio.gather(worker, stopper, return_exceptions=True)
        failure = worker.exception() if worker.done() and not worker.cancelled() else None
        if failure is not None:
            raise failure

    async def _run_forever(self) -> None:
        attempt = 0
        while True:
            try:
                await self._flush_pending()
                version = await self.resync()
                attempt = 0
                while True:  # a watch the server ends normally just resumes from where it was
                    version = await self._watch(version)
            except ResourceExpiredError:
                self.expired_watches += 1
                log.info("pod watch expired (410 Gone): listing again")
            except (KubeApiError, PublishError, OSError, TimeoutError) as exc:
                delay = self._backoff.delay(attempt, self._rand)
                attempt += 1
                log.warning("pod monitor: %s; retrying in %.1fs", exc, delay)
                await self._sleep(delay)

    async def resync(self) -> str:
        """List every executor pod and handle each; returns the list's resourceVersion."""
        listing = await self._api.list_pods(self._selector)
        seen = set()
        for pod in listing.pods:
            seen.add(outcome.pod_uid(pod))
            await self.handle("ADDED", pod)
        # Pods that were going and are gone now were deleted while we were not watching.
        for uid, pod in list(self._active.items()):
            if uid not in seen:
                await self.handle("DELETED", pod)
        return listing.resource_version

    async def _watch(self, version: str) -> str:
        async for event in self._api.watch_pods(self._selector, version):
            if event.resource_version:
                version = event.resource_version
            if event.type in ("ADDED", "MODIFIED", "DELETED"):
                await self.handle(event.type, event.pod)
        return version

    # ---------------------------------------------------------------- the state machine
    async def handle(self, event_type: str, pod: Pod) -> None:
        """One pod object from a list or a watch; idempotent and order-tolerant."""
        if self._stopping:
            return  # the next monitor re-lists it
        self._idle.clear()
        try:
            await self._handle(event_type, pod)
        finally:
            self._idle.set()

    async def _handle(self, event_type: str, pod: Pod) -> None:
        execution_id, uid = outcome.execution_id(pod), outcome.pod_uid(pod)
        if execution_id is None or uid is None:
            log.warning("ignoring a pod without an execution id or uid: %s", outcome.pod_name(pod))
            return
        if outcome.is_handled(pod):
            self._active.pop(uid, None)  # its runner reported it and deletes it
            return
        key = (execution_id, uid)
        if key in self._done or key in self._pending:
            if event_type != "DELETED" and key in self._done:
                await self._delete(pod)  # a delete that failed earlier: try again
            return
        if self._report_start is not None:
            await self._report_started(key, pod)  # before its end: per-key order on the bus
        ending = outcome.classify(event_type, pod)
        if ending is None:
            self._remember_active(uid, pod)
            return
        self._active.pop(uid, None)
        result = await self._collect(ending, pod)
        if result is None:
            return  # the pod vanished while we read it; its DELETED event decides
        name = outcome.pod_name(pod) if event_type != "DELETED" else None
        self._pending[key] = _Pending(
            ExecutionFinished(execution_id=execution_id, result=result), name, uid
        )
        await self._flush_pending()

    async def _report_started(self, key: Key, pod: Pod) -> None:
        """Publish `started` once the container runs, with its start time (once per lifetime;
        a restarted monitor reports it again, and the result processor ignores the copy)."""
        if key in self._started or self._report_start is None:
            return
        at = outcome.container_started_at(pod)
        if at is None:
            return  # still Pending (or it never ran)
        if outcome.pod_name(pod) != resource_name(key[0]):
            # Not the pod made for this execution (a pod started ahead and handed over): its
            # container ran before the job came, so the program's start is when it became this
            # execution's pod, which is now.
            at = utcnow()
        event = ExecutionStarted(execution_id=key[0], runner=RUNNER_NAME, occurred_at=at)
        try:
            await self._report_start(event)
        except Exception as exc:  # the re-list after the backoff reports it again
            raise PublishError(f"publishing started failed: {exc}") from exc
        self._started[key] = None
        while len(self._started) > self._remember:
            self._started.popitem(last=False)
        log.info("started %s at %s (pod uid %s)", key[0], at.isoformat(), key[1])

    def _remember_active(self, uid: str, pod: Pod) -> None:
        known = self._active.get(uid)
        if known is not None:
            old, new = _version(known), _version(pod)
            if old is not None and new is not None and new < old:
                return  # an older state arriving late
        self._active[uid] = pod

    async def _collect(self, ending: outcome.Ending, pod: Pod) -> Result | None:
        if not ending.collect:
            return outcome.build_result(ending)
        try:
            summary = parse_summary(ending.termination_message)
            if summary.container_exit != ending.exit_code:
                raise FramingError(
                    f"container exit code {ending.exit_code} does not match the report"
                    f" ({summary.container_exit})"
                )
            name = outcome.pod_name(pod) or ""
            log_bytes = await self._api.read_log(name, tail_lines=summary.frames_lines)
            streams = read_report(
                log_bytes,
                summary,
                max_bytes=outcome.output_limit(pod),
                max_file_bytes=outcome.output_files_limit(pod),
            )
        except NotFoundError:
            return None
        except FramingError as exc:
            return outcome.build_result(ending, problem=str(exc))
        return outcome.build_result(ending, summary=summary, streams=streams)

    async def _flush_pending(self) -> None:
        for key, pending in list(self._pending.items()):
            try:
                await self._publish(pending.event)
            except Exception as exc:  # whatever the bus raises, the event must not be lost
                raise PublishError(f"publishing {pending.event.type} failed: {exc}") from exc
            del self._pending[key]
            self._mark_done(key)
            log.info("%s %s (pod uid %s)", pending.event.type, key[0], pending.uid)
            if pending.pod_name is not None:
                await self._delete({"metadata": {"name": pending.pod_name, "uid": pending.uid}})

    def _mark_done(self, key: Key) -> None:
        self._started.pop(key, None)
        self._done[key] = None
        while len(self._done) > self._remember:
            self._done.popitem(last=False)

    async def _delete(self, pod: Pod) -> None:
        name = outcome.pod_name(pod)
        if name is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
            return
        try:
            await self._api.delete_pod(name, uid=outcome.pod_uid(pod))
        except KubeApiError as exc:  # harmless: the next event or restart retries
            log.warning("could not delete finished pod %s: %s", name, exc)
