import resource
import signal

import pytest

from sandpod.adapters.sandbox.cgroups import CgroupUsage
from sandpod.adapters.sandbox.outcome import (
    ProgramExit,
    StopReason,
    decode_exit_status,
    describe_end,
)
from sandpod.adapters.sandbox.phase import cgroup_limits, rlimits
from sandpod.domain.limits import MIB, Limits
from sandpod.domain.result import EndReason

LIMITS = Limits(
    wall_seconds=3,
    cpu_seconds=1.5,
    memory_mb=64,
    processes=16,
    output_bytes=1000,
    file_size_mb=2,
    tmp_mb=8,
)


def outcome(exit_status: int | None = 0, **changes: object) -> ProgramExit:
    values: dict[str, object] = {"limits": LIMITS, "exit_status": exit_status, "started": True}
    values.update(changes)
    return ProgramExit(**values)  # type: ignore[arg-type]  # builder: any field may be overridden


@pytest.mark.parametrize(
    ("status", "code"),
    [(0, 0), (1, 1), (128, 128), (137, -9), (152, -24), (139, -11), (200, 200), (-9, -9)],
)
def test_exit_status_decoding(status: int, code: int) -> None:
    assert decode_exit_status(status) == code


def test_exit_zero_completes() -> None:
    assert describe_end(outcome(0)) == (EndReason.COMPLETED, 0, None)


def test_non_zero_exit_fails_with_the_code() -> None:
    assert describe_end(outcome(3)) == (EndReason.FAILED, 3, "exited with code 3")


def test_death_by_signal_is_a_negative_exit_code() -> None:
    assert describe_end(outcome(128 + 11)) == (EndReason.FAILED, -11, "killed by SIGSEGV")


def test_wall_limit() -> None:
    reason, code, message = describe_end(outcome(137, stop_reason=StopReason.WALL))
    assert (reason, code) == (EndReason.TIMED_OUT, -9)
    assert message == "wall-clock time limit of 3 s exceeded"


def test_cpu_limit_from_the_cgroup_watch() -> None:
    reason, _, message = describe_end(outcome(137, stop_reason=StopReason.CPU))
    assert reason is EndReason.TIMED_OUT
    assert message == "CPU time limit of 1.5 s exceeded"


def test_cpu_limit_from_rlimit_sigxcpu_and_sigkill() -> None:
    assert describe_end(outcome(128 + signal.SIGXCPU))[0] is EndReason.TIMED_OUT
    spent = CgroupUsage(cpu_seconds=2.0)
    reason, code, message = describe_end(outcome(137, usage=spent))
    assert (reason, code) == (EndReason.TIMED_OUT, -9)
    assert message is not None
    assert "CPU" in message


def test_oom_kill_is_memory_limit() -> None:
    reason, code, message = describe_end(outcome(137, usage=CgroupUsage(oom_kills=1)))
    assert (reason, code) == (EndReason.MEMORY_LIMIT, -9)
    assert message == "memory limit of 64 MiB exceeded (out-of-memory kill)"
    # A child was OOM-killed and the parent failed because of it.
    assert describe_end(outcome(1, usage=CgroupUsage(oom_kills=1)))[0] is EndReason.MEMORY_LIMIT
    # Kernels without the oom_kill counter: SIGKILL after hitting the limit.
    hits = CgroupUsage(memory_limit_hits=3)
    assert describe_end(outcome(137, usage=hits))[0] is EndReason.MEMORY_LIMIT


def test_oom_kill_of_a_child_does_not_spoil_a_clean_exit() -> None:
    assert describe_end(outcome(0, usage=CgroupUsage(oom_kills=1)))[0] is EndReason.COMPLETED


def test_output_limit_names_the_streams() -> None:
    reason, _, message = describe_end(
        outcome(137, stop_reason=StopReason.OUTPUT, stdout_truncated=True)
    )
    assert reason is EndReason.OUTPUT_LIMIT
    assert message is not None
    assert message.startswith("output limit of 1000 bytes exceeded on stdout;")
    both = describe_end(
        outcome(0, stop_reason=StopReason.OUTPUT, stdout_truncated=True, stderr_truncated=True)
    )
    assert "stdout and stderr" in str(both[2])


def test_cancel_wins_over_everything() -> None:
    result = describe_end(
        outcome(137, stop_reason=StopReason.CANCEL, usage=CgroupUsage(oom_kills=2))
    )
    assert result[0] is EndReason.CANCELLED


def test_program_that_never_started_is_a_platform_error() -> None:
    assert describe_end(outcome(1, started=False)) == (
        EndReason.PLATFORM_ERROR,
        None,
        "the sandbox failed to start the program",
    )


def test_rlimits_follow_the_limits() -> None:
    assert rlimits(LIMITS) == {
        resource.RLIMIT_CPU: (2, 3),
        resource.RLIMIT_FSIZE: (2 * MIB, 2 * MIB),
        resource.RLIMIT_NOFILE: (256, 256),
        resource.RLIMIT_CORE: (0, 0),
    }


def test_cgroup_limits_count_the_sandbox_init() -> None:
    limits = cgroup_limits(LIMITS)
    assert limits.memory_bytes == 64 * MIB
    assert limits.pids == 17
    assert limits.cpu_cores == 1.0
