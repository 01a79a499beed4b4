"""Pure rules: when is an executor pod finished, and what Result does it stand for.

`classify` looks at one pod object (as the API returns it) and says whether the execution ended;
`build_result` turns that verdict, plus the verified report when there is one, into a Result.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandpod.adapters.kubernetes import entrypoint as ep
from sandpod.adapters.kubernetes.framing import FILE_KEY, Summary
from sandpod.adapters.kubernetes.manifests import (
    CANCELLED_ANNOTATION,
    CONTAINER_NAME,
    EXECUTION_ID_ANNOTATION,
    EXECUTION_ID_LABEL,
    HANDLED_ANNOTATION,
    LIMITS_ANNOTATION,
    OUTPUT_FILES_ANNOTATION,
)
from sandpod.adapters.sandbox.collect import content_type
from sandpod.domain.files import FieldError, StoredFile, check_file_name
from sandpod.domain.result import CompileReport, EndReason, Result

Pod = dict[str, Any]

# Waiting reasons that will not fix themselves: the execution cannot start.
START_FAILURES = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)

_REASON_FOR_OUTCOME = {
    ep.WALL_LIMIT: EndReason.TIMED_OUT,
    ep.CPU_LIMIT: EndReason.TIMED_OUT,
    ep.OUTPUT_LIMIT: EndReason.OUTPUT_LIMIT,
    ep.MEMORY_LIMIT: EndReason.MEMORY_LIMIT,
    ep.ERROR: EndReason.PLATFORM_ERROR,
    ep.COMPILE_ERROR: EndReason.COMPILE_ERROR,
}


@dataclass(frozen=True)
class Ending:
    """An executor pod is done. Either the reason is known, or the report must be read (collect)."""

    reason: EndReason | None
    message: str | None = None
    collect: bool = False  # read the termination message and the framed log
    oom_killed: bool = False
    exit_code: int | None = None  # the container's (entrypoint's) exit code
    termination_message: str | None = None


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def execution_id(pod: Pod) -> str | None:
    value = _get(pod, "metadata", "annotations", EXECUTION_ID_ANNOTATION) or _get(
        pod, "metadata", "labels", EXECUTION_ID_LABEL
    )
    return value if isinstance(value, str) and value else None


def pod_uid(pod: Pod) -> str | None:
    value = _get(pod, "metadata", "uid")
    return value if isinstance(value, str) and value else None


def pod_name(pod: Pod) -> str | None:
    value = _get(pod, "metadata", "name")
    return value if isinstance(value, str) and value else None


def _annotated_number(pod: Pod, annotation: str, key: str) -> int | None:
    """`key` of the JSON object in one of the pod's annotations, when it is an integer."""
    try:
        data = json.loads(_get(pod, "metadata", "annotations", annotation) or "null")
    except ValueError:
        return None
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def output_limit(pod: Pod) -> int | None:
    """The execution's output_bytes from the limits annotation (a bound for decoding its report)."""
    return _annotated_number(pod, LIMITS_ANNOTATION, "output_bytes")


def output_files_limit(pod: Pod) -> int | None:
    """The most bytes of output files the pod may send back (a bound for decoding them)."""
    return _annotated_number(pod, OUTPUT_FILES_ANNOTATION, "max_bytes")


def is_handled(pod: Pod) -> bool:
    """A warm pod whose runner reported (or gave up) the execution itself."""
    return bool(_get(pod, "metadata", "annotations", HANDLED_ANNOTATION) == "true")


def is_cancelled(pod: Pod) -> bool:
    return bool(_get(pod, "metadata", "annotations", CANCELLED_ANNOTATION) == "true")


def _container_state(pod: Pod) -> dict[str, Any]:
    for status in _get(pod, "status", "containerStatuses") or []:
        if isinstance(status, dict) and status.get("name") == CONTAINER_NAME:
            state = status.get("state")
            return state if isinstance(state, dict) else {}
    return {}


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = datetime.fromisoformat(value)  # RFC 3339, e.g. 2025-06-01T12:00:00Z
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def container_started_at(pod: Pod) -> datetime | None:
    """When the sandbox container started running (the program's start), or None before.

    From `state.running.startedAt`, or `state.terminated.startedAt` once it ended; a container
    that never ran (a start error reports the zero time) has no start.
    """
    state = _container_state(pod)
    for phase in ("running", "terminated"):
        started = _timestamp(_get(state, phase, "startedAt"))
        if started is None:
            continue
        created = _timestamp(_get(pod, "metadata", "creationTimestamp"))
        if created is not None and started < created:
            return None  # the zero time of a container that failed to start
        return started if started.year > 1970 else None
    return None


def log_is_whole(pod: Pod) -> bool:
    """Whether the sandbox container will write no more to its log (it ended, it cannot start,
    or the pod is going), so that a read of the log from now on has all of it."""
    if _get(pod, "metadata", "deletionTimestamp") or is_cancelled(pod):
        return True
    if isinstance(_container_state(pod).get("terminated"), dict):
        return True
    return classify("MODIFIED", pod) is not None


def classify(event_type: str, pod: Pod) -> Ending | None:
    """The execution's end as this pod object shows it, or None while it is still going."""
    phase = _get(pod, "status", "phase")
    if event_type == "DELETED":
        if is_cancelled(pod):
            return Ending(EndReason.CANCELLED, "cancelled")
        finished = phase in ("Succeeded", "Failed")
        when = "before its result was collected" if finished else "before it finished"
        return Ending(EndReason.PLATFORM_ERROR, f"the sandbox pod was deleted {when}")
    if is_cancelled(pod):
        return None  # the launcher deletes it next; the DELETED event reports the cancellation
    reason = _get(pod, "status", "reason")
    if phase == "Failed" and reason == "DeadlineExceeded":
        return Ending(EndReason.TIMED_OUT, "wall time limit exceeded (pod deadline reached)")
    if phase == "Failed" and reason == "Evicted":
        return Ending(
            EndReason.PLATFORM_ERROR,
            f"the sandbox pod was evicted: {_get(pod, 'status', 'message')}",
        )
    state = _container_state(pod)
    waiting = state.get("waiting") or {}
    if waiting.get("reason") in START_FAILURES:
        detail = f": {waiting['message']}" if waiting.get("message") else ""
        return Ending(
            EndReason.PLATFORM_ERROR, f"the sandbox could not start: {waiting['reason']}{detail}"
        )
    if phase not in ("Succeeded", "Failed"):
        return None
    terminated = state.get("terminated")
    if not isinstance(terminated, dict):
        why = f": {reason}" if reason else ""
        return Ending(
            EndReason.PLATFORM_ERROR,
            f"the sandbox pod {phase.lower()} without a container result{why}",
        )
    exit_code = terminated.get("exitCode")
    return Ending(
        reason=None,
        collect=True,
        oom_killed=terminated.get("reason") == "OOMKilled",
        exit_code=exit_code if isinstance(exit_code, int) else None,
        termination_message=terminated.get("message")
        if isinstance(terminated.get("message"), str)
        else None,
    )


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def build_result(
    ending: Ending,
    *,
    summary: Summary | None = None,
    streams: dict[str, bytes] | None = None,
    problem: str | None = None,
) -> Result:
    """The Result for an ending; `summary`/`streams` only when the report verified."""
    if ending.reason is not None:
        return Result(end_reason=ending.reason, message=ending.message)
    if summary is None or streams is None:
        if ending.oom_killed:  # the entrypoint itself was killed: no report, but the cause is known
            return Result(end_reason=EndReason.MEMORY_LIMIT, message="memory limit exceeded")
        return Result.platform_error(
            f"the sandbox ended (exit code {ending.exit_code}) without a verifiable result:"
            f" {problem}"
        )
    reason = _REASON_FOR_OUTCOME.get(summary.outcome)
    if reason is None:
        reason = EndReason.COMPLETED if summary.exit_code == 0 else EndReason.FAILED
    message = summary.message
    if ending.oom_killed and reason in (EndReason.COMPLETED, EndReason.FAILED):
        reason, message = EndReason.MEMORY_LIMIT, "memory limit exceeded"
    if reason is EndReason.FAILED and message is None:
        code = summary.exit_code
        message = (
            f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        )
    files, files_truncated = _output_files(streams)
    result = Result(
        end_reason=reason,
        exit_code=summary.exit_code,
        stdout=_text(streams.get("stdout", b"")),
        stderr=_text(streams.get("stderr", b"")),
        stdout_truncated=summary.stdout_truncated,
        stderr_truncated=summary.stderr_truncated,
        wall_seconds=summary.wall_seconds,
        cpu_seconds=summary.cpu_seconds,
        peak_memory_bytes=summary.peak_memory_bytes,
        message=message,
        compile=_compile_report(summary, streams),
    )
    return result.with_stored_files(files, truncated=files_truncated or summary.files_truncated)


def _compile_report(summary: Summary, streams: dict[str, bytes]) -> CompileReport | None:
    built = summary.compile
    if built is None:
        return None
    return CompileReport(
        exit_code=built.exit_code,
        output=_text(streams.get(ep.COMPILE_FRAME, b"")),
        output_truncated=built.output_truncated,
        wall_seconds=built.wall_seconds,
        cpu_seconds=built.cpu_seconds,
        peak_memory_bytes=built.peak_memory_bytes,
    )


def _output_files(streams: dict[str, bytes]) -> tuple[list[StoredFile], bool]:
    """The files the pod sent back; a name the platform would not accept is dropped."""
    kept: list[StoredFile] = []
    dropped = False
    for key, data in streams.items():
        if not key.startswith(FILE_KEY):
            continue
        name = key.removeprefix(FILE_KEY)
        try:
            check_file_name(name, "output")
        except FieldError:
            dropped = True
            continue
        kept.append(StoredFile(name=name, content_type=content_type(name), data=data))
    return sorted(kept, key=lambda item: item.name), dropped
