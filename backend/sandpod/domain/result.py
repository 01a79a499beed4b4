"""What an execution produced and why it ended."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from sandpod.domain.status import ExecutionStatus


class EndReason(StrEnum):
    COMPLETED = "completed"  # exit code 0
    FAILED = "failed"  # non-zero exit code or killed by a signal
    TIMED_OUT = "timed_out"  # wall or CPU limit
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    CANCELLED = "cancelled"
    PLATFORM_ERROR = "platform_error"


_STATUS_FOR_REASON = {
    EndReason.COMPLETED: ExecutionStatus.COMPLETED,
    EndReason.FAILED: ExecutionStatus.FAILED,
    EndReason.TIMED_OUT: ExecutionStatus.TIMED_OUT,
    EndReason.MEMORY_LIMIT: ExecutionStatus.FAILED,
    EndReason.OUTPUT_LIMIT: ExecutionStatus.FAILED,
    EndReason.CANCELLED: ExecutionStatus.CANCELLED,
    EndReason.PLATFORM_ERROR: ExecutionStatus.ERRORED,
}


class Result(BaseModel):
    model_config = ConfigDict(frozen=True)

    end_reason: EndReason
    exit_code: int | None = Field(
        default=None, description="Process exit code; negative is the killing signal."
    )
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory_bytes: int = 0
    message: str | None = Field(default=None, description="Why it ended, for a person.")

    @property
    def status(self) -> ExecutionStatus:
        return _STATUS_FOR_REASON[self.end_reason]

    @classmethod
    def platform_error(cls, message: str) -> "Result":
        return cls(end_reason=EndReason.PLATFORM_ERROR, message=message)
