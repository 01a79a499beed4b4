"""The API's resources as typed models, written from the server's OpenAPI spec.

tests/test_spec_drift.py compares them with docs/reference/openapi.json: a field the server adds
to one of these schemas fails it until it is added here. Fields the server sends that a model
does not know are ignored, so an older SDK keeps working against a newer server.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ExecutionStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    ERRORED = "errored"

    @property
    def is_terminal(self) -> bool:
        return self not in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)


class EndReason(str, Enum):
    COMPLETED = "completed"
    FAILED = "failed"
    COMPILE_ERROR = "compile_error"
    TIMED_OUT = "timed_out"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    CANCELLED = "cancelled"
    PLATFORM_ERROR = "platform_error"


class Scope(str, Enum):
    EXECUTIONS_READ = "executions:read"
    EXECUTIONS_WRITE = "executions:write"


class WebhookState(str, Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD_LETTERED = "dead_lettered"


class Role(str, Enum):
    USER = "user"
    ADMIN = "admin"


class Limits(_Model):
    """The hard limits an execution ran under."""

    wall_seconds: float
    cpu_seconds: float
    memory_mb: int
    processes: int
    output_bytes: int
    file_size_mb: int
    tmp_mb: int


class LimitsRequest(_Model):
    """What to ask for; unset fields take the server's default (more than its maximum is a 422)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_seconds: float | None = None
    cpu_seconds: float | None = None
    memory_mb: int | None = None
    processes: int | None = None
    output_bytes: int | None = None
    file_size_mb: int | None = None
    tmp_mb: int | None = None


class CompileReport(_Model):
    """How the compile step went (runtimes that have one)."""

    exit_code: int | None = None
    output: str = ""
    output_truncated: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory_bytes: int = 0


class FileInfo(_Model):
    """A file an execution left in /tmp/out; `executions.file(id, name)` fetches its bytes."""

    name: str
    size: int
    content_type: str
    truncated: bool = False


class FileList(_Model):
    files: list[FileInfo]
    truncated: bool = Field(False, description="The program left more than the server keeps.")


class SourceFile(_Model):
    """One file of a program sent instead of `script`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Relative path inside the program's folder, e.g. `lib/util.py`.")
    content: str
    encoding: Literal["utf-8", "base64"] = "utf-8"


class Result(_Model):
    """What an execution produced and why it ended."""

    end_reason: EndReason
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory_bytes: int = 0
    message: str | None = None
    compile: CompileReport | None = None
    files: list[FileInfo] = Field(default_factory=list)
    files_truncated: bool = False


class WebhookDelivery(_Model):
    """How the callback of an execution that named a `callback_url` stands."""

    url: str
    delivery_id: str = Field("", description="Sent as `Sandpod-Delivery`, the same on each try.")
    state: WebhookState = WebhookState.PENDING
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


class Execution(_Model):
    """One execution: its spec, its status and, once it ended, its result."""

    id: str
    status: ExecutionStatus
    runtime: str
    limits: Limits
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: Result | None = None
    script: str
    stdin: str
    interactive: bool = False
    webhook: WebhookDelivery | None = None

    @property
    def finished(self) -> bool:
        return self.status.is_terminal

    @property
    def stdout(self) -> str:
        return self.result.stdout if self.result else ""

    @property
    def stderr(self) -> str:
        return self.result.stderr if self.result else ""

    @property
    def exit_code(self) -> int | None:
        return self.result.exit_code if self.result else None


class ExecutionPage(_Model):
    items: list[Execution]
    next_cursor: str | None = None


class Submission(_Model):
    """One script to run: the body of a submit, or one item of a batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    runtime: str
    script: str | None = None
    files: list[SourceFile] | None = None
    entrypoint: str | None = None
    stdin: str = ""
    args: list[str] | None = None
    compiler_options: list[str] | None = None
    limits: LimitsRequest | None = None
    interactive: bool | None = Field(
        default=None,
        description="true: stdin stays open for GET /executions/{id}/attach (embedded mode, "
        "local runner).",
    )
    callback_url: str | None = Field(
        default=None, description="Where the server POSTs the signed execution when it ends."
    )
    idempotency_key: str | None = Field(
        default=None,
        description="Retries with the same key return the same execution. The SDK makes one up "
        "when it is unset, so its own retries never run a script twice.",
    )


class Problem(_Model):
    """RFC 9457 problem details: what the server said went wrong."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = None


class BatchOutcome(_Model):
    """One item of a batch: its execution when accepted, else the problem with it."""

    index: int
    status: int
    execution: Execution | None = None
    replayed: bool = False
    problem: Problem | None = None

    @property
    def accepted(self) -> bool:
        return self.execution is not None


class RuntimeLimits(_Model):
    defaults: Limits
    maxima: Limits


class CompileLimits(_Model):
    """Fixed limits of the compile step (a caller cannot change them)."""

    wall_seconds: float
    cpu_seconds: float
    memory_mb: int
    processes: int


class CompileStep(_Model):
    limits: CompileLimits
    allowed_options: list[str]


class Runtime(_Model):
    id: str
    language: str
    version: str
    display_name: str = ""
    available: bool = True
    file_name: str
    compile: CompileStep | None = None
    image: str = ""
    example: str
    example_stdin: str = ""
    limits: RuntimeLimits


class User(_Model):
    id: str
    username: str
    role: Role


class AccessToken(_Model):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int


class ApiKey(_Model):
    id: str
    prefix: str
    name: str
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class CreatedApiKey(ApiKey):
    key: str = Field(description="The whole key; the server shows it only once.")


class WebhookSecret(_Model):
    secret: str
