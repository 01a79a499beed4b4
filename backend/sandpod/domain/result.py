"""What an execution produced and why it ended."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from sandpod.domain.files import OutputFile, StoredFile
from sandpod.domain.status import ExecutionStatus


class EndReason(StrEnum):
    COMPLETED = "completed"  # exit code 0
    FAILED = "failed"  # non-zero exit code or killed by a signal
    COMPILE_ERROR = "compile_error"  # the compile step failed; the program never ran
    TIMED_OUT = "timed_out"  # wall or CPU limit
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    CANCELLED = "cancelled"
    PLATFORM_ERROR = "platform_error"


_STATUS_FOR_REASON = {
    EndReason.COMPLETED: ExecutionStatus.COMPLETED,
    EndReason.FAILED: ExecutionStatus.FAILED,
    EndReason.COMPILE_ERROR: ExecutionStatus.FAILED,
    EndReason.TIMED_OUT: ExecutionStatus.TIMED_OUT,
    EndReason.MEMORY_LIMIT: ExecutionStatus.FAILED,
    EndReason.OUTPUT_LIMIT: ExecutionStatus.FAILED,
    EndReason.CANCELLED: ExecutionStatus.CANCELLED,
    EndReason.PLATFORM_ERROR: ExecutionStatus.ERRORED,
}


class CompileReport(BaseModel):
    """How the compile step went (runtimes with one)."""

    model_config = ConfigDict(frozen=True)

    exit_code: int | None = None
    output: str = Field("", description="What the compiler wrote (stdout, then stderr).")
    output_truncated: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory_bytes: int = 0


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
    compile: CompileReport | None = Field(
        default=None, description="The compile step, for runtimes that have one."
    )
    # A plain default (pydantic copies it), not a factory: Avro schemas need a literal default.
    files: list[OutputFile] = Field(
        default=[],
        description="Files the program left in /tmp/out that were kept; fetch each from "
        "/api/v1/executions/{id}/files/{name}.",
    )
    files_truncated: bool = Field(
        False, description="More (or larger) files were left than the caps keep."
    )
    # The kept files' bytes travel from the sandbox to the runner's file store in memory only;
    # events and stores carry `files` (names and sizes), never the bytes.
    _stored_files: tuple[StoredFile, ...] = PrivateAttr(default=())

    @property
    def stored_files(self) -> tuple[StoredFile, ...]:
        return self._stored_files

    def with_stored_files(self, stored: list[StoredFile], *, truncated: bool) -> "Result":
        result = self.model_copy(
            update={"files": [item.info() for item in stored], "files_truncated": truncated}
        )
        result._stored_files = tuple(stored)
        return result

    def without_file_data(self) -> "Result":
        result = self.model_copy()
        result._stored_files = ()
        return result

    @property
    def status(self) -> ExecutionStatus:
        return _STATUS_FOR_REASON[self.end_reason]

    @classmethod
    def platform_error(cls, message: str) -> "Result":
        return cls(end_reason=EndReason.PLATFORM_ERROR, message=message)
