"""The Protocols the services depend on. Adapters implement them; services never import adapters."""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sandpod.domain.api_keys import ApiKey
from sandpod.domain.callback_urls import IPAddress
from sandpod.domain.errors import ConflictError, UnavailableError
from sandpod.domain.events import Event, EventType, StatusUpdate
from sandpod.domain.execution import Execution
from sandpod.domain.files import SourceFile, StoredFile
from sandpod.domain.limits import Limits
from sandpod.domain.output import OutputChunk, OutputStream
from sandpod.domain.result import Result
from sandpod.domain.runtimes import Runtime
from sandpod.domain.scripts import Script
from sandpod.domain.status import ExecutionStatus
from sandpod.domain.tokens import Claims, IssuedToken
from sandpod.domain.users import LockoutPolicy, User
from sandpod.domain.webhooks import WebhookDelivery


class DuplicateExecutionError(KeyError):
    """An execution with this id is already stored."""


class ServiceUnavailableError(UnavailableError):
    """A backing service (database, broker, cache) cannot be reached right now."""


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


@dataclass(frozen=True)
class Paged[T: _Identified]:
    items: Sequence[T]
    next_cursor: str | None

    @classmethod
    def of(cls, found: Sequence[T], limit: int) -> "Paged[T]":
        """The first `limit` of `found` (newest first); anything beyond them means a next page."""
        items = found[:limit]
        more = len(found) > limit
        return cls(items=items, next_cursor=items[-1].id if more and items else None)


Page = Paged[Execution]
ScriptPage = Paged[Script]


class ExecutionStore(Protocol):
    async def add(self, execution: Execution) -> None: ...

    async def get(self, execution_id: str) -> Execution | None: ...

    async def list(
        self,
        *,
        owner: str | None,
        status: ExecutionStatus | None,
        after: str | None,
        limit: int,
        runtime: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Page:
        """Newest first; `after` is the id of the last item of the previous page.

        Each filter that is set narrows the list; the created_* bounds are exclusive.
        """
        ...

    async def delete(self, execution_id: str) -> bool:
        """Remove a finished execution; False when it is missing or has not finished."""
        ...

    async def delete_finished(
        self, *, finished_before: datetime, limit: int
    ) -> Sequence[Execution]:
        """Remove up to `limit` executions that finished before the given time; the removed."""
        ...

    async def transition(
        self,
        execution_id: str,
        target: ExecutionStatus,
        *,
        at: datetime,
        result: Result | None = None,
        only_from: ExecutionStatus | None = None,
    ) -> Execution | None:
        """Atomically move to `target` if the status machine allows it; None when it does not.

        With `only_from`, the move also requires the current status to be that one.
        """
        ...

    async def list_unfinished(self, *, created_before: datetime, limit: int) -> Sequence[Execution]:
        """Queued or running executions created before the given time (for the timeout sweep)."""
        ...

    async def mark_published(self, execution_id: str) -> None:
        """Note that the execution's request reached the event bus (the outbox flag)."""
        ...

    async def claim_start(self, execution_id: str) -> bool:
        """Record that a runner starts the execution; True only the first time. Written by the
        runner itself, so a request sent again sees it before the status catches up."""
        ...

    async def mark_run_ended(self, execution_id: str) -> None:
        """Record that a run of the execution ended and its end was published."""
        ...

    async def run_ended(self, execution_id: str) -> bool:
        """Whether a run of the execution ended and was published (a copy of its request that
        arrives while the status still lags must not run it again)."""
        ...

    async def list_unpublished(
        self, *, created_before: datetime, limit: int
    ) -> Sequence[Execution]:
        """Queued executions created before the given time whose request was never marked
        published, oldest first (for the timeout sweep)."""
        ...

    async def count(self, status: ExecutionStatus) -> int:
        """How many executions have this status (for the queue-depth gauge)."""
        ...

    async def update_webhook(
        self, execution_id: str, webhook: WebhookDelivery, *, if_attempts: int
    ) -> bool:
        """Store `webhook` as the execution's delivery if its stored one has made `if_attempts`
        tries; False when it has not (another worker moved it on) or the execution is gone."""
        ...

    async def list_webhooks_due(self, *, at: datetime, limit: int) -> Sequence[Execution]:
        """Finished executions whose delivery is pending and due at `at`, oldest first."""
        ...

    async def ping(self) -> None: ...


class ScriptStore(Protocol):
    """Saved scripts. Each change is one single-document write; the last write wins."""

    async def add(self, script: Script) -> None: ...

    async def get(self, script_id: str) -> Script | None: ...

    async def list(self, *, owner: str | None, after: str | None, limit: int) -> ScriptPage:
        """Newest first; `after` is the id of the last item of the previous page."""
        ...

    async def replace(self, script: Script) -> bool:
        """Store `script` over the one with its id; False when there is none (deleted)."""
        ...

    async def delete(self, script_id: str) -> bool:
        """False when there was no such script."""
        ...

    async def ping(self) -> None: ...


class IdempotencyKeys(Protocol):
    async def claim(
        self, scope: str, key: str, fingerprint: str, execution_id: str, ttl_seconds: int
    ) -> tuple[str, str] | None:
        """Bind key to (fingerprint, execution_id) unless bound; return an existing binding."""
        ...

    async def release(self, scope: str, key: str, *, only_for: str | None = None) -> None:
        """Unbind the key; with `only_for`, only while it is bound to that execution id."""
        ...


EventHandler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    async def consume(
        self,
        group: str,
        types: Sequence[EventType],
        handler: EventHandler,
        *,
        concurrency: int = 1,
        broadcast: bool = False,
    ) -> None:
        """Deliver events of `types` to `handler` until cancelled, at least once, per group.

        Up to `concurrency` handlers run at once. An event is acknowledged only after its
        handler returns; one that keeps raising is dead-lettered with the reason, never
        silently dropped. With `broadcast`, every consumer of the group sees every event
        published after it started (used for cancellation, which any runner may hold).
        """
        ...

    async def ping(self) -> None: ...


class LiveUpdates(Protocol):
    async def publish(self, update: StatusUpdate) -> None: ...

    def subscribe(
        self, execution_id: str
    ) -> AbstractAsyncContextManager[AsyncIterator[StatusUpdate]]:
        """Open a subscription; enter it before reading the current state so nothing is missed."""
        ...


@dataclass(frozen=True)
class OutputRead:
    chunks: Sequence[OutputChunk]
    ended: bool  # the writer closed the log and every chunk of it has been read


class OutputLog(Protocol):
    """Each execution's live output chunks, kept for a while after its end so that readers can
    resume. One writer per execution (its runner); any number of readers."""

    async def append(self, execution_id: str, chunks: Sequence[OutputChunk]) -> None:
        """Add chunks in seq order; a chunk whose seq is not past the last one is ignored
        (a runner that ran the execution again after a crash repeats them)."""
        ...

    async def end(
        self, execution_id: str, last_seq: int, chunks: Sequence[OutputChunk] = ()
    ) -> None:
        """Add the last `chunks` (as append does) and mark the log complete after `last_seq`
        (0: there was no output), in one write: a reader sees the rest and the end together."""
        ...

    async def read(self, execution_id: str, *, after: int, wait_seconds: float) -> OutputRead:
        """The chunks past seq `after`, oldest first, waiting up to `wait_seconds` while there
        are none yet and the log has not ended. A log that expired or never was reads empty."""
        ...


class OutputSink(Protocol):
    """Where a sandbox hands what its program writes, as it reads it; never blocks."""

    def write(self, stream: OutputStream, data: bytes, *, truncated: bool = False) -> None: ...

    async def close(self) -> None:
        """The output has ended: send what is left and mark the live view complete."""
        ...


class StdinSource(Protocol):
    """Standard input that arrives while the program runs (an attached client's)."""

    async def next(self) -> bytes | None:
        """The next piece of input, or None once the input has ended."""
        ...


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: float


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision: ...


class PasswordHasher(Protocol):
    """Slow, salted password hashes, computed off the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...

    async def verify_dummy(self, password: str) -> None:
        """As much work as a real verify, for unknown users (no timing oracle)."""


class TokenIssuer(Protocol):
    """Signed, short-lived access tokens and the CSRF tokens bound to them."""

    def issue(self, user: User) -> IssuedToken: ...

    def verify(self, token: str) -> Claims:
        """The token's claims, or TokenExpiredError / InvalidTokenError."""

    def csrf_token(self, token_id: str) -> str: ...


class UsernameTakenError(ConflictError):
    def __init__(self, username: str) -> None:
        super().__init__(f"the username {username!r} is taken")
        self.username = username


class UserStore(Protocol):
    """Accounts. Every change is one atomic single-document update (no transactions needed)."""

    async def add(self, user: User) -> None:
        """Store a new user; UsernameTakenError when the (normalized) username exists."""
        ...

    async def get(self, user_id: str) -> User | None: ...

    async def get_by_username(self, username: str) -> User | None: ...

    async def record_failure(
        self, user_id: str, *, at: datetime, policy: LockoutPolicy
    ) -> User | None:
        """Count one wrong password (User.after_failure, applied atomically); None if no user."""
        ...

    async def reset_failures(self, user_id: str) -> None:
        """Forget failed sign-ins and any lock (after a successful one)."""
        ...

    async def end_sessions(self, user_id: str) -> User | None:
        """Bump the session version so every token issued so far stops working."""
        ...

    async def add_api_key(self, key: ApiKey) -> None: ...

    async def get_api_key(self, key_id: str) -> ApiKey | None: ...

    async def list_api_keys(self, owner: str) -> Sequence[ApiKey]:
        """The owner's keys, revoked ones included, oldest first."""
        ...

    async def revoke_api_key(self, key_id: str, *, at: datetime) -> ApiKey | None:
        """Mark the key revoked (the first time only); None when there is no such key."""
        ...

    async def touch_api_key(self, key_id: str, *, at: datetime) -> None:
        """Record a use of the key."""
        ...

    async def ensure_webhook_secret(self, owner: str, candidate: str) -> str:
        """The owner's webhook secret; `candidate` becomes it when there is none yet (the first
        caller's wins when several race)."""
        ...

    async def set_webhook_secret(self, owner: str, secret: str) -> None:
        """Replace the owner's webhook secret (rotation)."""
        ...

    async def ping(self) -> None: ...


class AddressResolver(Protocol):
    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        """Every address `host` resolves to now; empty when it resolves to none."""
        ...


class DeliveryFailedError(Exception):
    """A webhook try failed: no connection, a timeout, or an answer other than 2xx."""


class WebhookSender(Protocol):
    async def post(
        self, url: str, address: IPAddress, body: bytes, headers: dict[str, str]
    ) -> None:
        """POST `body` to `url`, connecting to `address` (the one checked) and following no
        redirect; DeliveryFailedError unless the answer is 2xx."""
        ...


@dataclass(frozen=True)
class SandboxJob:
    execution_id: str
    runtime: Runtime
    script: str  # the entrypoint's text (the single-script form)
    stdin: str
    limits: Limits
    files: tuple[SourceFile, ...] = ()  # when given, the program's files (script is one of them)
    entrypoint: str | None = None  # which of `files` runs; None: the runtime's file_name
    args: tuple[str, ...] = ()
    compiler_options: tuple[str, ...] = ()
    # Not part of the job's identity: where live output goes, and where more input comes from.
    output: OutputSink | None = field(default=None, compare=False)
    live_stdin: StdinSource | None = field(default=None, compare=False)
    # For a sandbox that reports starts: called when the program really starts, where the
    # sandbox sees it and not its monitor (a warm pod says so on its attached stream).
    on_start: Callable[[], Awaitable[None]] | None = field(default=None, compare=False)


class OutputFileStore(Protocol):
    """The files executions left behind, kept with their results."""

    async def put(self, execution_id: str, files: Sequence[StoredFile]) -> None:
        """Keep these files (replacing any kept before for the execution)."""
        ...

    async def get(self, execution_id: str, name: str) -> StoredFile | None: ...


class Sandbox(Protocol):
    """Where jobs run: the local runner (bubblewrap) or one Kubernetes pod per execution."""

    name: str
    # True when the sandbox's monitor publishes `started` itself once the program really runs
    # (pods: the pod monitor, when the container has started), so the runner does not: a pod
    # waiting in Pending stays `queued`, and the wall limit counts from the container's start.
    reports_start: bool

    async def run(self, job: SandboxJob) -> Result | None:
        """Run the job and return its result, or None once it is started when the sandbox's
        monitor reports the end as an event (pods; starting twice is then harmless). With None,
        the sandbox closes `job.output` itself once the output has ended; with a result, the
        caller does. cancel() finds the job from the call on, before run() first suspends."""
        ...

    async def probe(self, job: SandboxJob) -> Result:
        """Run `job` to its end in a sandbox of its own and return the result (the canary)."""
        ...

    async def cancel(self, execution_id: str) -> bool:
        """Kill the job's whole sandbox; False when this sandbox is not running it."""
        ...

    def runtimes(self) -> list[Runtime]:
        """The runtimes this sandbox can actually start."""
        ...

    def process_budget(self, limits: Limits) -> int:
        """The most processes a job with `limits` can have at once here (the canary checks it)."""
        ...

    async def close(self) -> None:
        """Release what the sandbox holds between runs (its runs must have ended)."""
        ...
