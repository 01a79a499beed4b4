"""Request and response bodies of the public API."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sandpod.domain.api_keys import ApiKey, Scope
from sandpod.domain.callback_urls import MAX_URL_CHARS
from sandpod.domain.execution import Execution
from sandpod.domain.files import OutputFile, SourceFile
from sandpod.domain.limits import LimitPolicy, Limits, LimitsRequest
from sandpod.domain.result import Result
from sandpod.domain.runtimes import CompileLimits, Runtime
from sandpod.domain.status import ExecutionStatus
from sandpod.domain.users import USERNAME_PATTERN, Role, User
from sandpod.domain.webhooks import WebhookDelivery
from sandpod.services.executions import SubmitCommand


class SubmitExecution(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"runtime": "python:3.12", "script": "print('hello')", "stdin": ""}]
        },
    )

    runtime: Annotated[str, Field(min_length=1, max_length=64, examples=["python:3.12"])]
    script: Annotated[
        str | None,
        Field(description="Source code to run: one file named as the runtime's `file_name`."),
    ] = None
    files: Annotated[
        list[SourceFile] | None,
        Field(
            max_length=1000,
            description="The program's files, instead of `script`. They are read-only under "
            "/sandbox; the program runs in /tmp and keeps files by writing them under /tmp/out.",
        ),
    ] = None
    entrypoint: Annotated[
        str | None,
        Field(
            max_length=255,
            description="Which of `files` runs (default: the runtime's `file_name`, or the only "
            "file).",
        ),
    ] = None
    stdin: Annotated[str, Field(description="Text written to the script's standard input.")] = ""
    # Factories, not literal defaults: the spec then leaves them optional for typed clients.
    args: Annotated[
        list[str],
        Field(
            default_factory=list,
            max_length=1000,
            description="Command-line arguments of the program.",
        ),
    ]
    compiler_options: Annotated[
        list[str],
        Field(
            max_length=100,
            default_factory=list,
            description="Extra compiler options; each must match the runtime's allow-list.",
        ),
    ]
    limits: LimitsRequest | None = Field(
        default=None, description="Ask for less than the defaults, or up to the maxima."
    )
    callback_url: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=MAX_URL_CHARS,
            description="An http(s) URL to POST the execution to, signed, when it ends (see "
            "the webhooks page). Refused (422) when its host is not a public address, unless "
            "the operator allows it.",
            examples=["https://example.com/hooks/sandpod"],
        ),
    ] = None
    # Optional rather than a false default, so that generated clients need not send it.
    interactive: bool | None = Field(
        default=None,
        description="true: keep standard input open after `stdin` for a client attached with "
        "`GET /executions/{id}/attach` (embedded mode with the local runner only).",
    )

    def command(self) -> SubmitCommand:
        """What the service is asked to run: the same for one submission and a batch item."""
        return SubmitCommand(
            runtime=self.runtime,
            script=self.script,
            stdin=self.stdin,
            limits=self.limits,
            files=self.files,
            entrypoint=self.entrypoint,
            args=self.args,
            compiler_options=self.compiler_options,
            callback_url=self.callback_url,
            interactive=bool(self.interactive),
        )


class BatchItem(SubmitExecution):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"runtime": "python:3.12", "script": "print(1)", "idempotency_key": "job-1"}
            ]
        },
    )

    idempotency_key: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=128,
            description="Like the Idempotency-Key header, for this item alone.",
        ),
    ] = None


class SubmitBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Any object is taken here and a bad one judged on its own: it does not reject the rest.
    items: Annotated[
        list[Annotated[BatchItem | dict[str, Any], Field(union_mode="left_to_right")]],
        Field(
            min_length=1,
            description="Submissions, each validated on its own (at most the server's "
            "`max_batch_items`).",
        ),
    ]


class ExecutionOut(BaseModel):
    id: str
    status: ExecutionStatus
    runtime: str
    limits: Limits
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: Result | None
    script: str = Field(description="The source code that ran (to open or run it again).")
    stdin: str = Field(description="The text given on standard input.")
    webhook: WebhookDelivery | None = Field(
        None, description="The callback's delivery, when the submission named a callback_url."
    )
    interactive: bool = Field(False, description="Standard input stays open for `attach`.")

    @classmethod
    def of(cls, execution: Execution) -> "ExecutionOut":
        return cls(
            id=execution.id,
            status=execution.status,
            runtime=execution.spec.runtime,
            script=execution.spec.script,
            stdin=execution.spec.stdin,
            interactive=execution.spec.interactive,
            limits=execution.spec.limits,
            created_at=execution.created_at,
            started_at=execution.started_at,
            finished_at=execution.finished_at,
            result=execution.result,
            webhook=execution.webhook,
        )


class OutputFiles(BaseModel):
    files: list[OutputFile] = Field(
        description="Fetch each from /api/v1/executions/{id}/files/{name}."
    )
    truncated: bool = Field(description="The program left more than the caps keep.")


class ExecutionPage(BaseModel):
    items: list[ExecutionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


class BatchOutcome(BaseModel):
    index: int = Field(description="Position of the item in the request.")
    status: int = Field(description="202 when accepted, else the status of `problem`.")
    execution: "ExecutionOut | None" = None
    replayed: bool = Field(False, description="Its idempotency key returned an earlier one.")
    problem: "Problem | None" = None


class BatchOut(BaseModel):
    items: list[BatchOutcome]


class RuntimeLimits(BaseModel):
    defaults: Limits
    maxima: Limits


class CompileOut(BaseModel):
    limits: CompileLimits = Field(description="Fixed limits of the compile step.")
    allowed_options: list[str] = Field(
        description="Patterns (regular expressions, matched in full) a compiler option must "
        "match to be accepted in `compiler_options`."
    )


class RuntimeOut(BaseModel):
    id: str
    language: str
    version: str
    display_name: str
    available: bool = Field(description="Whether this deployment can run it now.")
    file_name: str = Field(description="The entrypoint's name when only `script` is sent.")
    compile: CompileOut | None = Field(description="The compile step, for compiled languages.")
    image: str = Field(description="Container image of the Kubernetes runner.")
    example: str
    example_stdin: str
    limits: RuntimeLimits

    @classmethod
    def of(cls, runtime: Runtime, *, available: bool, policy: LimitPolicy) -> "RuntimeOut":
        step = runtime.compile
        return cls(
            id=runtime.id,
            language=runtime.language,
            version=runtime.version,
            display_name=runtime.display_name,
            available=available,
            file_name=runtime.file_name,
            compile=CompileOut(limits=step.limits, allowed_options=list(step.allowed_options))
            if step is not None
            else None,
            image=runtime.image,
            example=runtime.example,
            example_stdin=runtime.example_stdin,
            limits=RuntimeLimits(defaults=policy.defaults, maxima=policy.maxima),
        )


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = None


class Credentials(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "ada", "password": "a long passphrase"}]},
    )

    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class Registration(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "ada", "password": "a long passphrase"}]},
    )

    username: Annotated[
        str,
        Field(
            pattern=USERNAME_PATTERN,
            description="3-32 letters, digits, '.', '_' or '-'; case-insensitive.",
        ),
    ]
    password: Annotated[
        str,
        Field(
            max_length=256,
            description="12-256 characters, not containing the username, not a common password.",
        ),
    ]


class AccessToken(BaseModel):
    access_token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    token_type: Literal["bearer"] = Field("bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Seconds until the token expires.")


class UserOut(BaseModel):
    id: str
    username: str
    role: Role

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(id=user.id, username=user.username, role=user.role)


class AuthSettings(BaseModel):
    """How a client should sign in here; a page reads it before showing a sign-in form."""

    accounts: bool = Field(
        description="Whether accounts are on. When false, every request acts as the local admin "
        "(embedded mode bound to loopback) and there is nothing to sign in to."
    )
    registration_open: bool = Field(description="Whether anyone may create an account.")


class NewApiKey(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "ci", "scopes": ["executions:write"]}]},
    )

    name: Annotated[str, Field(min_length=1, max_length=64, description="What it is for.")]
    scopes: Annotated[
        list[Scope],
        Field(min_length=1, max_length=len(Scope), description="What the key may do."),
    ] = [Scope.EXECUTIONS_READ, Scope.EXECUTIONS_WRITE]


class ApiKeyOut(BaseModel):
    id: str
    prefix: str = Field(description="The key's first part (`spk_<id>`), to tell keys apart.")
    name: str
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None = Field(description="Recorded at most once a minute.")
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> "ApiKeyOut":
        return cls(
            id=key.id,
            prefix=key.prefix,
            name=key.name,
            scopes=sorted(key.scopes),
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class CreatedApiKey(ApiKeyOut):
    key: str = Field(
        description="The whole key: send it as `Authorization: Bearer <key>`. Shown only now."
    )


class WebhookSecret(BaseModel):
    secret: str = Field(
        description="Keys the HMAC-SHA256 in `Sandpod-Signature` of your webhook requests."
    )
