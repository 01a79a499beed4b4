"""The pod monitor's watch state machine, driven by recorded event sequences (no cluster).

Pods are plain dicts shaped like the API server's JSON; their reports are made by the real
entrypoint's encoder, so the monitor parses exactly what a pod would leave behind.
"""

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from sandpod.adapters.kubernetes import entrypoint as ep
from sandpod.adapters.kubernetes.api import (
    KubeApiError,
    NotFoundError,
    PodListing,
    ResourceExpiredError,
    WatchEvent,
)
from sandpod.adapters.kubernetes.manifests import (
    CANCELLED_ANNOTATION,
    EXECUTION_ID_ANNOTATION,
    EXECUTOR_LABELS,
    resource_name,
)
from sandpod.adapters.kubernetes.monitor import Backoff, PodMonitor
from sandpod.domain.events import ExecutionFinished, ExecutionStarted
from sandpod.domain.result import EndReason
from sandpod.domain.status import ExecutionStatus, can_transition

Pod = dict[str, Any]
_versions = itertools.count(100)


# ------------------------------------------------------------------------------ recorded pods
def pod(
    execution_id: str = "ex_a",
    *,
    uid: str | None = None,
    rv: int | None = None,
    phase: str = "Pending",
    state: dict[str, Any] | None = None,
    reason: str | None = None,
    cancelled: bool = False,
) -> Pod:
    annotations = {EXECUTION_ID_ANNOTATION: execution_id}
    if cancelled:
        annotations[CANCELLED_ANNOTATION] = "true"
    status: dict[str, Any] = {"phase": phase, "qosClass": "Guaranteed"}
    if reason:
        status["reason"] = reason
        status["message"] = f"Pod {reason.lower()}"
    if state is not None:
        status["containerStatuses"] = [
            {
                "name": "sandbox",
                "image": "sandpod-runtime-python:3.12",
                "ready": False,
                "restartCount": 0,
                "state": state,
            }
        ]
    return {
        "metadata": {
            "name": resource_name(execution_id),
            "namespace": "sandpod-executions",
            "uid": uid or f"uid-{execution_id}",
            "resourceVersion": str(rv if rv is not None else next(_versions)),
            "labels": dict(EXECUTOR_LABELS),
            "annotations": annotations,
        },
        "status": status,
    }


def running(execution_id: str = "ex_a", **kw: Any) -> Pod:
    return pod(execution_id, phase="Running", state={"running": {"startedAt": "t"}}, **kw)


def waiting(reason: str, execution_id: str = "ex_a") -> Pod:
    return pod(execution_id, state={"waiting": {"reason": reason, "message": f"{reason} detail"}})


def finished(
    execution_id: str = "ex_a",
    *,
    stdout: bytes = b"hello\n",
    stderr: bytes = b"",
    exit_code: int = 0,
    kind: str = ep.EXITED,
    truncated: bool = False,
    oom_killed: bool = False,
    summary: str | None = None,
    **kw: Any,
) -> tuple[Pod, bytes]:
    """A pod whose entrypoint reported, and the log it left (with noise before the block)."""
    captures = {"stdout": ep.Capture(1 << 20), "stderr": ep.Capture(1 << 20)}
    captures["stdout"].add(stdout)
    captures["stdout"].truncated = truncated
    captures["stderr"].add(stderr)
    outcome = ep.Outcome(
        kind,
        exit_code=exit_code,
        wall_seconds=0.5,
        cpu_seconds=0.25,
        peak_memory_bytes=9 << 20,
        captures=captures,
        message=None if kind == ep.EXITED else f"{kind} reached",
    )
    block = ep.encode_frames([("stdout", stdout), ("stderr", stderr)])
    terminated = {
        "exitCode": outcome.container_exit,
        "reason": "OOMKilled" if oom_killed else ("Completed" if exit_code == 0 else "Error"),
        "message": summary if summary is not None else ep.build_summary(outcome, block),
    }
    phase = "Succeeded" if outcome.container_exit == 0 else "Failed"
    noise = b"SANDPOD1 stdout 3 8\nAAAAAAAA\nSANDPOD1 end\n"  # a fake block cannot take over
    return pod(execution_id, phase=phase, state={"terminated": terminated}, **kw), noise + block


def oom_killed_entrypoint(execution_id: str = "ex_a") -> Pod:
    terminated = {"exitCode": 137, "reason": "OOMKilled", "message": "garbage the script wrote"}
    return pod(execution_id, phase="Failed", state={"terminated": terminated})


# ------------------------------------------------------------------------------ fakes
class Crash(BaseException):
    """The monitor process dies here (like SystemExit: nothing inside the monitor catches it)."""


class FakeCluster:
    """PodApi over scripted steps: ("list", PodListing | exc) and ("watch", [WatchEvent | exc]).

    Once the script is used up, the next call sets `stop` and blocks like a quiet watch.
    """

    def __init__(self, *steps: tuple[str, Any]) -> None:
        self.steps = deque(steps)
        self.stop = asyncio.Event()
        self.logs: dict[str, bytes] = {}
        self.timeline: list[str] = []
        self.deleted: list[tuple[str, str | None]] = []
        self.watched_from: list[str] = []
        self.lists = 0
        self.delete_hook: Callable[[str], None] | None = None

    def add_log(self, pod: Pod, log: bytes) -> None:
        self.logs[pod["metadata"]["name"]] = log

    async def _next(self, kind: str) -> Any:
        if not self.steps:
            self.stop.set()  # script exhausted: stop the monitor, block like a quiet watch
            await asyncio.Event().wait()
        step_kind, value = self.steps.popleft()
        assert step_kind == kind, f"monitor asked for {kind}, script has {step_kind}"
        return value

    async def list_pods(self, label_selector: str) -> PodListing:
        assert (
            label_selector
            == "app.kubernetes.io/managed-by=sandpod,app.kubernetes.io/component=executor"
            ",!sandpod.io/canary"  # canaries belong to the runner that started them
            ",!sandpod.io/warm"  # so do warm pods until they are handed over
        )
        self.lists += 1
        value = await self._next("list")
        if isinstance(value, BaseException):
            raise value
        assert isinstance(value, PodListing)
        return value

    async def watch_pods(
        self, label_selector: str, resource_version: str
    ) -> AsyncIterator[WatchEvent]:
        self.watched_from.append(resource_version)
        for item in await self._next("watch"):
            if isinstance(item, BaseException):
                raise item
            yield item

    async def read_log(self, name: str, *, tail_lines: int) -> bytes:
        if name not in self.logs:
            raise NotFoundError(404, f'pods "{name}" not found')
        lines = self.logs[name].splitlines(keepends=True)
        return b"".join(lines[-tail_lines:])

    async def delete_pod(self, name: str, *, uid: str | None = None) -> None:
        if self.delete_hook:
            self.delete_hook(name)
        self.timeline.append(f"delete {name}")
        self.deleted.append((name, uid))


class Processor:
    """The receiving side: the result processor's status machine (rejects duplicates)."""

    def __init__(self, cluster: FakeCluster, fail: int = 0) -> None:
        self.cluster = cluster
        self.fail = fail
        self.received: list[ExecutionFinished] = []
        self.status: dict[str, ExecutionStatus] = {}
        self.rejected: list[str] = []

    async def __call__(self, event: ExecutionFinished) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("broker unavailable")
        self.cluster.timeline.append(f"publish {event.execution_id}")
        self.received.append(event)
        current = self.status.get(event.execution_id, ExecutionStatus.RUNNING)
        if can_transition(current, event.status):
            self.status[event.execution_id] = event.status
        else:
            self.rejected.append(event.execution_id)

    def only(self) -> ExecutionFinished:
        assert len(self.received) == 1, self.received
        return self.received[0]


def ev(kind: str, obj: Pod) -> WatchEvent:
    return WatchEvent(kind, obj, obj["metadata"]["resourceVersion"])


def listing(*pods: Pod, rv: str = "1000") -> tuple[str, PodListing]:
    return ("list", PodListing(list(pods), rv))


def watch(*items: WatchEvent | BaseException) -> tuple[str, list[WatchEvent | BaseException]]:
    return ("watch", list(items))


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)  # yield like a real sleep would


def monitor(
    cluster: FakeCluster,
    publish: Callable[[ExecutionFinished], Awaitable[None]],
    sleeps: Sleeps | None = None,
) -> PodMonitor:
    return PodMonitor(cluster, publish, sleep=sleeps or Sleeps(), rand=lambda: 1.0)


async def feed(mon: PodMonitor, *events: tuple[str, Pod]) -> None:
    for kind, obj in events:
        await mon.handle(kind, obj)


# ------------------------------------------------------------------------------ the state machine
async def test_success_publishes_the_verified_output_then_deletes_the_pod() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    done, log = finished(stdout=b"hello\n", stderr=b"warn\n")
    cluster.add_log(done, log)
    await feed(
        monitor(cluster, processor), ("ADDED", pod()), ("MODIFIED", running()), ("MODIFIED", done)
    )

    event = processor.only()
    assert event.status is ExecutionStatus.COMPLETED
    assert event.result.stdout == "hello\n"
    assert event.result.stderr == "warn\n"
    assert event.result.exit_code == 0
    assert event.result.wall_seconds == 0.5
    assert event.result.cpu_seconds == 0.25
    assert event.result.peak_memory_bytes == 9 << 20
    name = resource_name("ex_a")
    assert cluster.deleted == [(name, "uid-ex_a")]  # with the uid precondition
    assert cluster.timeline == ["publish ex_a", f"delete {name}"]  # delete only after publish


async def test_duplicate_and_out_of_order_events_publish_once() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    done, log = finished(rv=30)
    cluster.add_log(done, log)
    gone = dict(done, metadata=dict(done["metadata"], resourceVersion="40"))
    await feed(
        monitor(cluster, processor),
        ("ADDED", pod(rv=10)),
        ("MODIFIED", done),
        ("MODIFIED", running(rv=20)),  # an older state arriving late
        ("MODIFIED", done),  # the same event delivered twice
        ("ADDED", done),  # and again from a re-list
        ("DELETED", gone),
    )
    assert processor.only().status is ExecutionStatus.COMPLETED
    assert processor.rejected == []


@pytest.mark.parametrize(
    ("make", "status", "end_reason", "message"),
    [
        (
            lambda: pod(phase="Failed", reason="DeadlineExceeded"),
            ExecutionStatus.TIMED_OUT,
            EndReason.TIMED_OUT,
            "pod deadline",
        ),
        (oom_killed_entrypoint, ExecutionStatus.FAILED, EndReason.MEMORY_LIMIT, "memory limit"),
        (
            lambda: waiting("ErrImagePull"),
            ExecutionStatus.ERRORED,
            EndReason.PLATFORM_ERROR,
            "ErrImagePull",
        ),
        (
            lambda: waiting("ImagePullBackOff"),
            ExecutionStatus.ERRORED,
            EndReason.PLATFORM_ERROR,
            "ImagePullBackOff",
        ),
        (
            lambda: waiting("InvalidImageName"),
            ExecutionStatus.ERRORED,
            EndReason.PLATFORM_ERROR,
            "InvalidImageName",
        ),
        (
            lambda: waiting("CreateContainerConfigError"),
            ExecutionStatus.ERRORED,
            EndReason.PLATFORM_ERROR,
            "CreateContainerConfigError",
        ),
        (
            lambda: pod(phase="Failed", reason="Evicted"),
            ExecutionStatus.ERRORED,
            EndReason.PLATFORM_ERROR,
            "evicted",
        ),
        (
            lambda: pod(phase="Failed"),
            ExecutionStatus.ERRORED,
            EndReason.PLATFORM_ERROR,
            "without a container",
        ),
    ],
    ids=["deadline", "oom", "pull", "backoff", "bad-image", "config", "evicted", "no-container"],
)
async def test_pod_level_endings_map_to_terminal_events(
    make: Callable[[], Pod], status: ExecutionStatus, end_reason: EndReason, message: str
) -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    obj = make()
    await feed(monitor(cluster, processor), ("ADDED", pod()), ("MODIFIED", obj))
    event = processor.only()
    assert event.status is status
    assert event.result.end_reason is end_reason
    assert message in (event.result.message or "")
    assert cluster.deleted == [(obj["metadata"]["name"], "uid-ex_a")]  # stuck pods are removed too


@pytest.mark.parametrize(
    ("kwargs", "status", "end_reason"),
    [
        ({"exit_code": 3}, ExecutionStatus.FAILED, EndReason.FAILED),
        ({"exit_code": -9}, ExecutionStatus.FAILED, EndReason.FAILED),
        ({"kind": ep.WALL_LIMIT, "exit_code": -9}, ExecutionStatus.TIMED_OUT, EndReason.TIMED_OUT),
        ({"kind": ep.CPU_LIMIT, "exit_code": -24}, ExecutionStatus.TIMED_OUT, EndReason.TIMED_OUT),
        (
            {"kind": ep.OUTPUT_LIMIT, "exit_code": -9, "truncated": True},
            ExecutionStatus.FAILED,
            EndReason.OUTPUT_LIMIT,
        ),
        (
            {"kind": ep.MEMORY_LIMIT, "exit_code": -9},
            ExecutionStatus.FAILED,
            EndReason.MEMORY_LIMIT,
        ),
        ({"kind": ep.ERROR}, ExecutionStatus.ERRORED, EndReason.PLATFORM_ERROR),
        ({"oom_killed": True}, ExecutionStatus.FAILED, EndReason.MEMORY_LIMIT),
    ],
    ids=[
        "exit-3",
        "signal",
        "wall",
        "cpu",
        "output",
        "memory",
        "entrypoint-error",
        "oom-with-report",
    ],
)
async def test_reported_outcomes_map_to_terminal_events(
    kwargs: dict[str, Any], status: ExecutionStatus, end_reason: EndReason
) -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    done, log = finished(stdout=b"partial", **kwargs)
    cluster.add_log(done, log)
    await feed(monitor(cluster, processor), ("MODIFIED", done))
    event = processor.only()
    assert event.status is status
    assert event.result.end_reason is end_reason
    assert event.result.stdout == "partial"  # output survives every reported ending
    assert event.result.stdout_truncated is kwargs.get("truncated", False)


async def test_signal_exit_is_described() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    done, log = finished(exit_code=-9)
    cluster.add_log(done, log)
    await feed(monitor(cluster, processor), ("MODIFIED", done))
    assert processor.only().result.exit_code == -9
    assert processor.only().result.message == "killed by signal 9"


async def test_cancelled_pod_is_reported_when_its_deletion_is_seen() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    mon = monitor(cluster, processor)
    await feed(mon, ("MODIFIED", running()), ("MODIFIED", running(cancelled=True)))
    assert processor.received == []  # marked, not yet gone
    await feed(mon, ("DELETED", running(cancelled=True)))
    assert processor.only().status is ExecutionStatus.CANCELLED
    assert cluster.deleted == []  # nothing left to delete


async def test_a_finished_pod_marked_cancelled_is_reported_cancelled() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    done, log = finished(cancelled=True)
    cluster.add_log(done, log)
    await feed(monitor(cluster, processor), ("MODIFIED", done), ("DELETED", done))
    assert processor.only().status is ExecutionStatus.CANCELLED


async def test_pod_deleted_by_someone_else_before_finishing_is_errored() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    await feed(monitor(cluster, processor), ("ADDED", running()), ("DELETED", running()))
    event = processor.only()
    assert event.status is ExecutionStatus.ERRORED
    assert event.result.message == "the sandbox pod was deleted before it finished"


@pytest.mark.parametrize(
    "summary",
    [
        None,  # no termination message at all
        '{"v":1,"outcome":"exited","exit_code":0,"container_exit":0,"wall_seconds":0,"cpu_seconds":0,'
        '"peak_memory_bytes":0,"stdout_truncated":false,"stderr_truncated":false,'
        '"frames_sha256":"' + "0" * 64 + '","frames_bytes":40,"frames_lines":3,"message":null}',
        "I am the script and I wrote this",
    ],
    ids=["missing", "forged-digest", "garbage"],
)
async def test_an_unverifiable_report_is_a_platform_error_not_a_result(summary: str | None) -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    done, log = finished(stdout=b"real", summary=summary if summary is not None else "")
    cluster.add_log(done, log)
    await feed(monitor(cluster, processor), ("MODIFIED", done))
    event = processor.only()
    assert event.status is ExecutionStatus.ERRORED
    assert "without a verifiable result" in (event.result.message or "")
    assert event.result.stdout == ""


async def test_a_report_for_another_exit_code_is_rejected() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    done, log = finished(exit_code=0)
    done["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] = 1
    cluster.add_log(done, log)
    await feed(monitor(cluster, processor), ("MODIFIED", done))
    assert "does not match the report" in (processor.only().result.message or "")


async def test_pod_gone_while_reading_its_log_waits_for_the_deletion_event() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    done, _ = finished()  # no log: reading it answers 404
    mon = monitor(cluster, processor)
    await feed(mon, ("MODIFIED", done))
    assert processor.received == []
    await feed(mon, ("DELETED", done))
    assert processor.only().status is ExecutionStatus.ERRORED
    assert "before its result was collected" in (processor.only().result.message or "")


async def test_pods_without_an_execution_id_are_ignored() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    stray = pod(phase="Failed", reason="DeadlineExceeded")
    del stray["metadata"]["annotations"][EXECUTION_ID_ANNOTATION]
    await feed(monitor(cluster, processor), ("MODIFIED", stray))
    assert processor.received == []
    assert cluster.deleted == []


async def test_a_failed_delete_is_retried_on_the_next_event_without_republishing() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    done, log = finished()
    cluster.add_log(done, log)
    attempts: list[str] = []

    def flaky(name: str) -> None:
        attempts.append(name)
        if len(attempts) == 1:
            raise KubeApiError(500, "etcd timeout")

    cluster.delete_hook = flaky
    await feed(monitor(cluster, processor), ("MODIFIED", done), ("MODIFIED", done))
    assert len(processor.received) == 1
    assert len(attempts) == 2
    assert len(cluster.deleted) == 1


async def test_two_pods_of_one_execution_are_told_apart_by_uid() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    first = pod(phase="Failed", reason="DeadlineExceeded", uid="one")
    second = pod(phase="Failed", reason="DeadlineExceeded", uid="two")
    await feed(monitor(cluster, processor), ("MODIFIED", first), ("MODIFIED", second))
    # Both are reported; the status machine keeps the first and rejects the second.
    assert len(processor.received) == 2
    assert processor.rejected == ["ex_a"]


# ------------------------------------------------------------------------------ the loop
async def run(mon: PodMonitor, cluster: FakeCluster) -> None:
    await asyncio.wait_for(mon.run(cluster.stop), timeout=10)


async def test_lists_then_watches_from_the_list_version_and_relists_on_410() -> None:
    done, log = finished()
    cluster = FakeCluster(
        listing(running(rv=90), rv="100"),
        watch(
            ev("MODIFIED", running(rv=101)), ResourceExpiredError(410, "too old resource version")
        ),
        listing(done, rv="200"),
    )
    cluster.add_log(done, log)
    processor = Processor(cluster)
    sleeps = Sleeps()
    mon = monitor(cluster, processor, sleeps)
    await run(mon, cluster)
    assert cluster.watched_from == ["100", "200"]
    assert processor.only().status is ExecutionStatus.COMPLETED
    assert sleeps.delays == []  # a 410 re-lists at once, it is not a failure
    assert mon.expired_watches == 1


async def test_a_normal_end_of_watch_resumes_from_the_last_version_bookmarks_included() -> None:
    bookmark = WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "150"}}, "150")
    cluster = FakeCluster(
        listing(rv="100"),
        watch(ev("ADDED", running(rv=120)), bookmark),  # the server ends this watch normally
    )
    await run(monitor(cluster, Processor(cluster)), cluster)
    assert cluster.watched_from == ["100", "150"]
    assert cluster.lists == 1


@pytest.mark.parametrize(
    ("cancelled", "status"),
    [(False, ExecutionStatus.ERRORED), (True, ExecutionStatus.CANCELLED)],
    ids=["deleted", "cancelled"],
)
async def test_a_pod_that_vanished_between_watch_and_relist_still_gets_its_event(
    cancelled: bool, status: ExecutionStatus
) -> None:
    cluster = FakeCluster(
        listing(running(rv=90), rv="100"),
        watch(
            ev("MODIFIED", running(rv=95, cancelled=cancelled)), ResourceExpiredError(410, "gone")
        ),
        listing(rv="300"),  # the pod is not there any more
    )
    processor = Processor(cluster)
    await run(monitor(cluster, processor), cluster)
    assert processor.only().status is status


async def test_reconnects_with_exponential_backoff_reset_after_success() -> None:
    cluster = FakeCluster(
        ("list", KubeApiError(None, "connection refused")),
        ("list", KubeApiError(503, "unavailable")),
        ("list", OSError("network unreachable")),
        listing(rv="10"),
        watch(KubeApiError(None, "connection reset")),
        listing(rv="20"),
    )
    sleeps = Sleeps()
    await run(monitor(cluster, Processor(cluster), sleeps), cluster)
    assert sleeps.delays == [0.5, 1.0, 2.0, 0.5]
    assert cluster.watched_from == ["10", "20"]


def test_backoff_is_capped_and_jittered() -> None:
    backoff = Backoff(initial=0.5, factor=2, maximum=30)
    assert backoff.delay(20, rand=lambda: 1.0) == 30
    assert backoff.delay(0, rand=lambda: 0.0) == 0.25
    assert backoff.delay(3, rand=lambda: 0.5) == 3.0


async def test_a_failed_publish_is_kept_retried_and_the_pod_deleted_only_after() -> None:
    done, log = finished()
    cluster = FakeCluster(
        listing(done, rv="10"),  # publish fails here
        listing(done, rv="11"),  # after the backoff: the pending event goes first
    )
    cluster.add_log(done, log)
    processor = Processor(cluster, fail=1)
    sleeps = Sleeps()
    await run(monitor(cluster, processor, sleeps), cluster)
    assert processor.only().status is ExecutionStatus.COMPLETED
    assert sleeps.delays == [0.5]
    assert cluster.timeline[0] == "publish ex_a"  # no delete before the publish succeeded
    assert all(entry.startswith("delete") for entry in cluster.timeline[1:])


async def test_a_failed_publish_for_a_deleted_pod_is_not_lost() -> None:
    cluster = FakeCluster(
        listing(running(cancelled=True), rv="10"),
        watch(ev("DELETED", running(cancelled=True))),  # publish fails: the pod is gone already
        listing(rv="20"),
    )
    processor = Processor(cluster, fail=1)
    await run(monitor(cluster, processor), cluster)
    assert processor.only().status is ExecutionStatus.CANCELLED


async def test_monitor_restart_after_publish_before_delete_keeps_one_terminal_state() -> None:
    a, a_log = finished("ex_a", stdout=b"a")
    b, b_log = finished("ex_b", stdout=b"b")
    first = FakeCluster(
        listing(running("ex_a"), running("ex_b"), rv="10"),
        watch(ev("MODIFIED", a), ev("MODIFIED", b)),
    )
    for obj, log in ((a, a_log), (b, b_log)):
        first.add_log(obj, log)

    def crash(name: str) -> None:
        raise Crash("killed between publish and delete")

    first.delete_hook = crash
    processor = Processor(first)
    with pytest.raises(Crash):
        await run(monitor(first, processor), first)
    assert [e.execution_id for e in processor.received] == ["ex_a"]

    # A new monitor process: both pods are still there (a was never deleted, b never handled).
    second = FakeCluster(listing(a, b, rv="20"))
    for obj, log in ((a, a_log), (b, b_log)):
        second.add_log(obj, log)
    processor.cluster = second
    await run(monitor(second, processor), second)

    assert [e.execution_id for e in processor.received] == ["ex_a", "ex_a", "ex_b"]
    assert processor.rejected == ["ex_a"]  # the redelivery is rejected by the status machine
    assert processor.status == {
        "ex_a": ExecutionStatus.COMPLETED,
        "ex_b": ExecutionStatus.COMPLETED,
    }
    assert sorted(name for name, _ in second.deleted) == sorted(
        [resource_name("ex_a"), resource_name("ex_b")]
    )


async def test_monitor_restart_before_publish_publishes_exactly_once() -> None:
    a, a_log = finished("ex_a")
    first = FakeCluster(listing(running("ex_a"), rv="10"), watch(ev("MODIFIED", a)))
    first.add_log(a, a_log)
    processor = Processor(first)

    async def dies(event: ExecutionFinished) -> None:
        raise Crash("killed while publishing")

    with pytest.raises(Crash):
        await run(PodMonitor(first, dies, sleep=Sleeps()), first)
    assert first.deleted == []  # not published, so not deleted

    second = FakeCluster(listing(a, rv="20"))
    second.add_log(a, a_log)
    processor.cluster = second
    await run(monitor(second, processor), second)
    assert processor.only().status is ExecutionStatus.COMPLETED
    assert processor.rejected == []


async def test_stop_ends_a_monitor_blocked_in_a_watch() -> None:
    cluster = FakeCluster(listing(rv="1"))  # the watch then blocks: the script is exhausted
    await run(monitor(cluster, Processor(cluster)), cluster)
    assert cluster.watched_from == ["1"]


async def test_stop_during_a_report_still_deletes_the_reported_pod() -> None:
    done, log = finished()
    cluster = FakeCluster(listing(done, rv="1"))
    cluster.add_log(done, log)
    processor = Processor(cluster)

    async def publish_then_stop(event: ExecutionFinished) -> None:
        await processor(event)
        cluster.stop.set()  # e.g. SIGTERM arrives right now

    await run(monitor(cluster, publish_then_stop), cluster)
    assert cluster.timeline == ["publish ex_a", f"delete {resource_name('ex_a')}"]


async def test_a_report_larger_than_the_pods_output_limit_is_rejected() -> None:
    cluster = FakeCluster()
    processor = Processor(cluster)
    done, log = finished(stdout=b"x" * 200)
    done["metadata"]["annotations"]["sandpod.io/limits"] = '{"output_bytes": 100}'
    cluster.add_log(done, log)
    await feed(monitor(cluster, processor), ("MODIFIED", done))
    assert "larger than the output limit" in (processor.only().result.message or "")


# ------------------------------------------------------------------------------ the program's start
STARTED_AT = "2025-06-01T12:00:07Z"


def started(execution_id: str = "ex_a", at: str = STARTED_AT, **kw: Any) -> Pod:
    return pod(execution_id, phase="Running", state={"running": {"startedAt": at}}, **kw)


def ended_after(at: str, execution_id: str = "ex_a") -> tuple[Pod, bytes]:
    done, log = finished(execution_id)
    done["status"]["containerStatuses"][0]["state"]["terminated"]["startedAt"] = at
    return done, log


class Starts:
    """The `report_start` side: the `started` events, in the bus's order with the ends."""

    def __init__(self, cluster: FakeCluster, fail: int = 0) -> None:
        self.cluster = cluster
        self.fail = fail
        self.received: list[ExecutionStarted] = []

    async def __call__(self, event: ExecutionStarted) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("broker unavailable")
        self.cluster.timeline.append(f"start {event.execution_id}")
        self.received.append(event)


def reporting(
    cluster: FakeCluster, processor: Processor, starts: Starts, sleeps: Sleeps | None = None
) -> PodMonitor:
    return PodMonitor(
        cluster, processor, sleep=sleeps or Sleeps(), rand=lambda: 1.0, report_start=starts
    )


async def test_the_containers_start_is_reported_once_with_its_own_time_before_the_end() -> None:
    cluster = FakeCluster()
    processor, starts = Processor(cluster), Starts(cluster)
    done, log = ended_after(STARTED_AT)
    cluster.add_log(done, log)
    await feed(
        reporting(cluster, processor, starts),
        ("ADDED", pod()),  # Pending: not started
        ("MODIFIED", started()),
        ("MODIFIED", started()),  # the same state again
        ("MODIFIED", done),
    )
    [start] = starts.received
    assert (start.execution_id, start.runner) == ("ex_a", "kubernetes")
    assert start.occurred_at == datetime(2025, 6, 1, 12, 0, 7, tzinfo=UTC)
    assert processor.only().status is ExecutionStatus.COMPLETED
    assert cluster.timeline[:2] == ["start ex_a", "publish ex_a"]


async def test_a_pod_first_seen_ended_reports_its_start_then_its_end() -> None:
    done, log = ended_after(STARTED_AT)
    cluster = FakeCluster(listing(done, rv="10"))
    cluster.add_log(done, log)
    processor, starts = Processor(cluster), Starts(cluster)
    await run(reporting(cluster, processor, starts), cluster)
    assert [event.occurred_at.second for event in starts.received] == [7]
    assert cluster.timeline[:2] == ["start ex_a", "publish ex_a"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: pod(),
        lambda: waiting("ErrImagePull"),
        lambda: pod(state={"terminated": {"exitCode": 128, "startedAt": "1970-01-01T00:00:00Z"}}),
        lambda: running(),  # a start time that is no time
    ],
    ids=["pending", "pull-error", "start-error", "unreadable"],
)
async def test_a_container_that_never_ran_reports_no_start(make: Callable[[], Pod]) -> None:
    cluster = FakeCluster()
    starts = Starts(cluster)
    await feed(reporting(cluster, Processor(cluster), starts), ("MODIFIED", make()))
    assert starts.received == []


async def test_a_start_whose_publish_failed_is_reported_after_the_relist_once() -> None:
    done, log = ended_after(STARTED_AT)
    cluster = FakeCluster(
        listing(started(rv=90), rv="100"),  # the start's publish fails here
        listing(started(rv=90), rv="110"),
        watch(ev("MODIFIED", done)),
    )
    cluster.add_log(done, log)
    processor, starts, sleeps = Processor(cluster), Starts(cluster, fail=1), Sleeps()
    await run(reporting(cluster, processor, starts, sleeps), cluster)
    assert sleeps.delays == [0.5]
    assert len(starts.received) == 1
    assert processor.only().status is ExecutionStatus.COMPLETED
    assert cluster.timeline[:2] == ["start ex_a", "publish ex_a"]


async def test_a_pod_not_made_for_its_execution_starts_when_it_becomes_its_pod() -> None:
    # A pod started ahead and then given the execution: its container's start says nothing of
    # the program's, which begins when the monitor first sees it as the execution's.
    cluster = FakeCluster()
    starts = Starts(cluster)
    ahead = started(at="2025-06-01T11:00:00Z")
    ahead["metadata"]["name"] = "sandpod-ahead-python-1"
    before = datetime.now(UTC)
    await feed(reporting(cluster, Processor(cluster), starts), ("MODIFIED", ahead))
    [start] = starts.received
    assert before <= start.occurred_at <= datetime.now(UTC)
