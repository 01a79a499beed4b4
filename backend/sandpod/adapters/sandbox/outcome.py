"""Why a sandbox ended, from what was observed. Pure: no I/O."""

import signal
from dataclasses import dataclass, field
from enum import StrEnum

from sandpod.adapters.sandbox.cgroups import CgroupUsage
from sandpod.domain.limits import Limits
from sandpod.domain.result import EndReason

_MAX_SIGNAL = 64  # SIGRTMAX on Linux


class StopReason(StrEnum):
    """Why the runner stopped a sandbox itself."""

    CANCEL = "cancel"
    OUTPUT = "output"
    WALL = "wall"
    CPU = "cpu"


@dataclass(frozen=True)
class ProgramExit:
    limits: Limits
    exit_status: int | None  # bwrap's exit status: n, 128+signal, or -signal if bwrap was killed
    started: bool  # bwrap reported that the program was executed
    stop_reason: StopReason | None = None
    usage: CgroupUsage = field(default_factory=CgroupUsage)
    stdout_truncated: bool = False
    stderr_truncated: bool = False


def decode_exit_status(status: int | None) -> int | None:
    """bwrap reports death by signal N as 128+N (like a shell); we report -N.

    A program that itself exits with 129..192 is indistinguishable and reads as a signal.
    """
    if status is None or status <= 128:
        return status
    number = status - 128
    return -number if number <= _MAX_SIGNAL else status


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _output_message(outcome: ProgramExit) -> str:
    streams = [
        name
        for name, truncated in (
            ("stdout", outcome.stdout_truncated),
            ("stderr", outcome.stderr_truncated),
        )
        if truncated
    ]
    where = " and ".join(streams) or "output"
    return (
        f"output limit of {outcome.limits.output_bytes} bytes exceeded on {where}; "
        "the sandbox was stopped and the output truncated"
    )


def _cpu_message(limits: Limits) -> str:
    return f"CPU time limit of {limits.cpu_seconds:g} s exceeded"


def describe_end(outcome: ProgramExit) -> tuple[EndReason, int | None, str | None]:
    """End reason, exit code (negative: killing signal) and a message for a person."""
    limits = outcome.limits
    code = decode_exit_status(outcome.exit_status) if outcome.started else None
    match outcome.stop_reason:
        case StopReason.CANCEL:
            return EndReason.CANCELLED, code, "cancelled; the sandbox was stopped"
        case StopReason.OUTPUT:
            return EndReason.OUTPUT_LIMIT, code, _output_message(outcome)
        case StopReason.WALL:
            message = f"wall-clock time limit of {limits.wall_seconds:g} s exceeded"
            return EndReason.TIMED_OUT, code, message
        case StopReason.CPU:
            return EndReason.TIMED_OUT, code, _cpu_message(limits)
    if not outcome.started:
        return EndReason.PLATFORM_ERROR, None, "the sandbox failed to start the program"
    if code == -signal.SIGXCPU or (
        code == -signal.SIGKILL and outcome.usage.cpu_seconds >= limits.cpu_seconds
    ):
        return EndReason.TIMED_OUT, code, _cpu_message(limits)
    if code != 0 and (
        outcome.usage.oom_kills > 0
        or (code == -signal.SIGKILL and outcome.usage.memory_limit_hits > 0)
    ):
        message = f"memory limit of {limits.memory_mb} MiB exceeded (out-of-memory kill)"
        return EndReason.MEMORY_LIMIT, code, message
    if code == 0:
        return EndReason.COMPLETED, 0, None
    if code is not None and code < 0:
        return EndReason.FAILED, code, f"killed by {signal_name(-code)}"
    return EndReason.FAILED, code, f"exited with code {code}"
