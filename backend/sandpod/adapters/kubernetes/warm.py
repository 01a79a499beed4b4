"""The warm pod pool: executor pods started ahead of need, each used by one execution, then deleted.

A warm pod is a cold pod without its job: same image, spec, limits and admission, with the
entrypoint (PID 1) started and blocked on its stdin (`--warm`, entrypoint.py). It carries the
label `sandpod.io/warm=idle`, which the pod monitor's selector leaves out, so nothing reports it.

A claim is one JSON patch whose `test` op says the pod is still idle, so of several runners racing
for a pod exactly one gets it; the patch sets the warm label to `claimed` and adds the execution's
label and annotations. The launcher then attaches to the pod's stdin through the API server (no
pod network: the pods' deny-all NetworkPolicy stays), sends the job, and once the pod says it has
it, hands the pod over to the monitor (the warm label removed). It reads the result from the
attached stdout; when that stream breaks, the monitor reports the pod as any other.

Only jobs the pod's fixed parts fit are served warm (same runtime, memory and /tmp size, no more
wall time or log room than the pod was made for); the rest take the cold path. Idle pods are
replaced after `idle_seconds` (their deadline counts that wait), and warm pods that nobody holds
(a runner that died) are deleted once they are older than that.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sandpod.adapters.kubernetes.api import ExecutorApi, KubeApiError, Pod, PodApi
from sandpod.adapters.kubernetes.manifests import (
    WARM_SELECTOR,
    PodOptions,
    claim_patch,
    ephemeral_storage_mib,
    memory_limit_mib,
    warm_pod_manifest,
)
from sandpod.adapters.kubernetes.outcome import START_FAILURES, pod_name
from sandpod.domain.limits import Limits
from sandpod.domain.runtimes import Runtime
from sandpod.ports import SandboxJob

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # after a warm pod failed to start, before the pool tries again
READY_WAIT_SECONDS = (0.05, 0.5)  # polls of a starting pod: doubling up to the cap
START_TIMEOUT_SECONDS = 120.0


class WarmApi(ExecutorApi, PodApi, Protocol):
    pass


@dataclass(frozen=True)
class WarmPod:
    name: str
    uid: str
    runtime_id: str
    started: float  # time.monotonic() when it was seen running


def _running(pod: Pod) -> bool | None:
    """True once its container runs, False when it never will, None while it starts."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed") or (pod.get("metadata") or {}).get(
        "deletionTimestamp"
    ):
        return False
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "running" in state:
            return True
        if (state.get("waiting") or {}).get("reason") in START_FAILURES or "terminated" in state:
            return False
    return None


def _age_seconds(pod: Pod) -> float:
    created = (pod.get("metadata") or {}).get("creationTimestamp")
    if not isinstance(created, str):
        return 0.0
    when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    return time.time() - when.timestamp()


class WarmPods:
    """Up to `size` idle warm pods per runtime, refilled in the background by this runner."""

    def __init__(
        self,
        client: Callable[[], Awaitable[WarmApi]],
        *,
        runtimes: Sequence[Runtime],
        limits_for: Callable[[Runtime], Limits],
        namespace: str,
        options: PodOptions,
        size: int,
        idle_seconds: int,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._options = options
        self._size = size
        self._idle_seconds = idle_seconds
        self._templates = {
            runtime.id: SandboxJob("warm", runtime, "", "", limits_for(runtime))
            for runtime in runtimes
        }
        self._idle: dict[str, list[WarmPod]] = {runtime_id: [] for runtime_id in self._templates}
        self._starting: dict[str, int] = dict.fromkeys(self._templates, 0)
        self._held: set[str] = set()  # names of pods this pool made and has not let go
        self._wanted = asyncio.Event()
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()  # pods being brought up: cancelled by close
        self._cleanups: set[asyncio.Task[None]] = set()  # deletions: close waits for them
        self._filler: asyncio.Task[None] | None = None
        self.claims = 0  # warm pods handed to executions so far

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._filler is None and self._templates and self._size > 0:
            self._filler = asyncio.create_task(self._fill_forever(), name="warm-pods")
            self._wanted.set()

    async def close(self) -> None:
        """Stop refilling and delete the idle pods this pool holds."""
        for task in [self._filler, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(task for task in [self._filler, *self._tasks] if task is not None),
            return_exceptions=True,
        )
        self._filler = None
        await asyncio.gather(*self._cleanups, return_exceptions=True)
        idle = [pod for pods in self._idle.values() for pod in pods]
        for pods in self._idle.values():
            pods.clear()
        if idle:
            api = await self._client()
            await asyncio.gather(
                *(api.delete_pod(pod.name, uid=pod.uid) for pod in idle), return_exceptions=True
            )

    async def full(self) -> None:
        """Wait until every runtime has its idle pods."""
        while any(len(self._idle[runtime_id]) < self._size for runtime_id in self._templates):
            self._changed.clear()
            await self._changed.wait()

    def idle_count(self) -> int:
        return sum(len(pods) for pods in self._idle.values())

    # ---------------------------------------------------------------- claims
    def fits(self, job: SandboxJob) -> bool:
        template = self._templates.get(job.runtime.id)
        if template is None:
            return False
        options = self._options
        # The pod's memory limit is the program's plus the entrypoint's buffers for its output
        # cap: the program's own must be the pool's, the buffers may be smaller.
        return (
            job.limits.tmp_mb == template.limits.tmp_mb
            and job.limits.memory_mb == template.limits.memory_mb
            and memory_limit_mib(job, options) <= memory_limit_mib(template, options)
            and ephemeral_storage_mib(job, options)
            <= ephemeral_storage_mib(template, options, live=True)
            and job.limits.wall_seconds <= template.limits.wall_seconds
        )

    async def claim(self, job: SandboxJob) -> WarmPod | None:
        """An idle pod made this job's (claimed), or None: the job then starts cold."""
        if not self.fits(job):
            log.info("the job does not fit the warm pods: it starts cold")
            return None
        idle = self._idle[job.runtime.id]
        if not idle:
            log.info("no warm pod for %s is idle: the job starts cold", job.runtime.id)
        api = await self._client()
        while idle:
            warm = idle.pop(0)  # the oldest first: it is the nearest to being replaced
            self._wanted.set()
            try:
                claimed = await api.claim_pod(warm.name, claim_patch(job, self._options))
            except KubeApiError as exc:
                log.warning("warm pod %s not claimed: %s", warm.name, exc)
                claimed = None
            if claimed is not None and _running(claimed):
                self.claims += 1
                return warm
            self.let_go(warm)  # gone, or it died while it waited
            self._later(api.delete_pod(warm.name, uid=warm.uid))
        return None

    def let_go(self, warm: WarmPod) -> None:
        """The pool no longer holds `warm` (its execution has it, or it is being deleted)."""
        self._held.discard(warm.name)

    # ---------------------------------------------------------------- refilling
    def _later(self, work: Awaitable[object]) -> None:
        async def run() -> None:
            with contextlib.suppress(KubeApiError):
                await work

        task = asyncio.create_task(run())
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _fill_forever(self) -> None:
        reap_every = max(self._idle_seconds / 4, 1.0)
        next_reap = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), reap_every)
            self._wanted.clear()
            try:
                if time.monotonic() >= next_reap:
                    await self._reap()
                    next_reap = time.monotonic() + reap_every
                for runtime_id in self._templates:
                    while len(self._idle[runtime_id]) + self._starting[runtime_id] < self._size:
                        self._starting[runtime_id] += 1
                        task = asyncio.create_task(self._bring_up(runtime_id))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
            except KubeApiError as exc:
                log.warning("warm pod pool: %s; retrying in %.0fs", exc, RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)  # back off: the API server is failing
                self._wanted.set()

    async def _bring_up(self, runtime_id: str) -> None:
        api = await self._client()
        manifest = warm_pod_manifest(
            self._templates[runtime_id],
            namespace=self._namespace,
            options=self._options,
            idle_seconds=self._idle_seconds,
        )
        name: str = manifest["metadata"]["name"]
        uid: str | None = None
        made = time.monotonic()
        self._held.add(name)
        try:
            created = await api.create_pod(manifest)
            uid = created["metadata"]["uid"]
            wait, deadline = READY_WAIT_SECONDS[0], time.monotonic() + START_TIMEOUT_SECONDS
            while True:
                pod = await api.read_pod(name)
                state = _running(pod) if pod is not None else False
                if state is True:
                    break
                if state is False or time.monotonic() > deadline:
                    raise KubeApiError(None, f"warm pod {name} did not start")
                await asyncio.sleep(wait)  # polling the pod's start, doubling to the cap
                wait = min(wait * 2, READY_WAIT_SECONDS[1])
        except asyncio.CancelledError:  # close(): the pod may exist already, it must not stay
            self._held.discard(name)
            self._later(api.delete_pod(name, uid=uid))
            raise
        except KubeApiError as exc:
            log.warning("warm pod for %s: %s", runtime_id, exc)
            self._held.discard(name)
            self._later(api.delete_pod(name, uid=uid))
            await asyncio.sleep(RETRY_SECONDS)  # back off before this slot is tried again
            return
        finally:
            self._starting[runtime_id] -= 1
            self._wanted.set()
        assert uid is not None
        self._idle[runtime_id].append(WarmPod(name, uid, runtime_id, time.monotonic()))
        self._changed.set()
        log.info("warm pod %s is ready in %.1f s", name, time.monotonic() - made)

    async def _reap(self) -> None:
        """Replace idle pods that waited too long; delete warm pods nobody holds any more."""
        now = time.monotonic()
        api = await self._client()
        for pods in self._idle.values():
            for warm in [warm for warm in pods if now - warm.started > self._idle_seconds]:
                pods.remove(warm)
                self.let_go(warm)
                self._later(api.delete_pod(warm.name, uid=warm.uid))
        listing = await api.list_pods(WARM_SELECTOR)
        for pod in listing.pods:
            name = pod_name(pod)
            if name is None or name in self._held:
                continue
            if _running(pod) is False or _age_seconds(pod) > self._idle_seconds + 60:
                log.info("deleting warm pod %s: nobody holds it", name)
                self._later(api.delete_pod(name, uid=(pod.get("metadata") or {}).get("uid")))
