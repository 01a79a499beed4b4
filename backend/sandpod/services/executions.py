"""Submit, read, list, cancel and watch executions: what the API offers."""

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandpod.domain.callback_urls import CallbackRefusedError
from sandpod.domain.events import CancelRequested, ExecutionRequested, StatusUpdate
from sandpod.domain.execution import Execution, ExecutionSpec, id_made_at, utcnow
from sandpod.domain.files import SourceFile
from sandpod.domain.limits import LimitPolicy, LimitsRequest
from sandpod.domain.principals import Principal
from sandpod.domain.runtimes import RuntimeRegistry
from sandpod.domain.status import ExecutionStatus
from sandpod.domain.submission import SubmissionCaps, check_program
from sandpod.domain.webhooks import WebhookDelivery
from sandpod.ports import (
    DuplicateExecutionError,
    EventBus,
    ExecutionStore,
    IdempotencyKeys,
    LiveUpdates,
    OutputLog,
    Page,
    ServiceUnavailableError,
)
from sandpod.services.attach import (
    AttachHub,
    InteractiveUnsupportedError,
    NotAttachableError,
    NotInteractiveError,
    NotOwnerError,
    StdinPipe,
)
from sandpod.services.errors import (
    AlreadyFinishedError,
    ExecutionNotFoundError,
    IdempotencyConflictError,
    IdempotencyInFlightError,
    InputTooLargeError,
    NotFinishedError,
)
from sandpod.services.follow import Position, StreamItem, follow
from sandpod.services.webhooks import CallbackGuard

log = logging.getLogger(__name__)

# A key bound this long ago to an execution that is still not stored belongs to a request that
# died in between: well past how long storing may take (the store's client gives up in seconds).
_ABANDONED_AFTER = timedelta(seconds=30)


@dataclass(frozen=True)
class SubmitCommand:
    runtime: str
    script: str | None
    stdin: str = ""
    limits: LimitsRequest | None = None
    files: list[SourceFile] | None = None
    entrypoint: str | None = None
    args: list[str] = field(default_factory=list)
    compiler_options: list[str] = field(default_factory=list)
    callback_url: str | None = None
    interactive: bool = False


@dataclass(frozen=True)
class InputCaps:
    max_script_bytes: int
    max_stdin_bytes: int
    program: SubmissionCaps
    # Script and stdin together, when the sandbox receives them in one bounded carrier.
    max_input_bytes: int | None = None


async def free_idempotency_key(idempotency: IdempotencyKeys, execution: Execution) -> None:
    """Unbind a removed execution's Idempotency-Key, so a replay starts anew (not a 409)."""
    if execution.idempotency_key is not None:
        await idempotency.release(execution.owner, execution.idempotency_key, only_for=execution.id)


class ExecutionService:
    def __init__(
        self,
        *,
        store: ExecutionStore,
        bus: EventBus,
        live: LiveUpdates,
        idempotency: IdempotencyKeys,
        runtimes: RuntimeRegistry,
        limits: LimitPolicy,
        caps: InputCaps,
        idempotency_ttl_seconds: int,
        callbacks: CallbackGuard | None = None,
        poll_seconds: float = 5.0,
        output: OutputLog | None = None,
        end_wait_seconds: float = 5.0,
        attach: AttachHub | None = None,
    ) -> None:
        self._poll_seconds = poll_seconds
        self._idempotency_ttl_seconds = idempotency_ttl_seconds
        self._callbacks = callbacks
        self._output = output
        self._end_wait_seconds = end_wait_seconds
        self._attach = attach
        self._store = store
        self._bus = bus
        self._live = live
        self._idempotency = idempotency
        self._runtimes = runtimes
        self._limits = limits
        self._caps = caps

    def validate(self, command: SubmitCommand) -> ExecutionSpec:
        """Turn a request into a spec, or raise a domain error a person can read."""
        runtime = self._runtimes.get(command.runtime)
        script_bytes = 0
        if command.script is not None:
            script_bytes = len(command.script.encode())
            if script_bytes > self._caps.max_script_bytes:
                raise InputTooLargeError("script", script_bytes, self._caps.max_script_bytes)
        program = check_program(
            runtime,
            script=command.script,
            files=command.files,
            entrypoint=command.entrypoint,
            args=command.args,
            compiler_options=command.compiler_options,
            caps=self._caps.program,
        )
        stdin_bytes = len(command.stdin.encode())
        if stdin_bytes > self._caps.max_stdin_bytes:
            raise InputTooLargeError("stdin", stdin_bytes, self._caps.max_stdin_bytes)
        most = self._caps.max_input_bytes
        carried = program.input_bytes() + stdin_bytes
        if most is not None and carried > most:
            raise InputTooLargeError("script (or files), args and stdin together", carried, most)
        if command.interactive and self._attach is None:
            raise InteractiveUnsupportedError()
        return ExecutionSpec(
            runtime=runtime.id,
            script=program.script,
            stdin=command.stdin,
            limits=runtime.limits.policy(self._limits).resolve(command.limits),
            files=program.files,
            entrypoint=program.entrypoint,
            args=program.args,
            compiler_options=program.compiler_options,
            callback_url=command.callback_url,
            interactive=command.interactive,
        )

    async def check_callback(self, url: str | None) -> None:
        """CallbackRefusedError (a 422 naming callback_url) when sandpod may not call `url`."""
        if url is None:
            return
        if self._callbacks is None:
            raise CallbackRefusedError("is not accepted here: this server sends no webhooks")
        await self._callbacks.check(url)

    async def submit(
        self, principal: Principal, command: SubmitCommand, idempotency_key: str | None = None
    ) -> tuple[Execution, bool]:
        """Accept an execution. Returns it and whether it is new (False for a replayed key)."""
        spec = self.validate(command)
        await self.check_callback(spec.callback_url)
        webhook = None if spec.callback_url is None else WebhookDelivery(url=spec.callback_url)
        execution = Execution(
            owner=principal.id, spec=spec, idempotency_key=idempotency_key, webhook=webhook
        )
        if idempotency_key is not None:
            bound = await self._claim_key(principal, idempotency_key, spec, execution)
            if bound is not None:
                return await self._replay(idempotency_key, spec, *bound), False
        try:
            await self._store.add(execution)
        except DuplicateExecutionError:
            # Surely not stored by us. Any other failure keeps the key bound: the write may
            # have landed all the same (a timeout while the store restarts), and a retry must
            # get that execution, not run the request again; if it did not land, the binding
            # is dropped as abandoned (`_claim_key`).
            if idempotency_key is not None:
                await self._idempotency.release(principal.id, idempotency_key)
            raise
        try:
            await self._bus.publish(ExecutionRequested(execution_id=execution.id))
        except ServiceUnavailableError as error:
            # Stored but not queued: the timeout sweep publishes its request again (or, past
            # its deadline, fails it), so it is not lost; say so, and how to get it back.
            log.warning("execution stored, not queued", extra={"execution_id": execution.id})
            retry = (
                "a retry with the same Idempotency-Key returns it rather than starting another"
                if idempotency_key is not None
                else "this request had no Idempotency-Key, so a retry starts another execution"
            )
            raise ServiceUnavailableError(
                f"execution {execution.id} was stored but could not be queued: {error}; it "
                f"is queued again automatically once the event bus is back ({retry})"
            ) from error
        try:
            await self._store.mark_published(execution.id)
        except ServiceUnavailableError:
            # Queued all the same; the sweep publishes the request once more (marked resent,
            # so a runner ignores it unless the execution is still queued).
            log.warning("request published, not marked", extra={"execution_id": execution.id})
        log.info("execution accepted", extra={"execution_id": execution.id})
        return execution, True

    async def get(self, principal: Principal, execution_id: str) -> Execution:
        execution = await self._store.get(execution_id)
        # Someone else's execution is reported as missing: existence is not revealed.
        if execution is None or not principal.can_see(execution):
            raise ExecutionNotFoundError(execution_id)
        return execution

    async def list(
        self,
        principal: Principal,
        *,
        status: ExecutionStatus | None = None,
        cursor: str | None = None,
        limit: int = 20,
        all_owners: bool = False,
        runtime: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Page:
        owner = None if (principal.is_admin and all_owners) else principal.id
        return await self._store.list(
            owner=owner,
            status=status,
            after=cursor,
            limit=limit,
            runtime=runtime,
            created_after=created_after,
            created_before=created_before,
        )

    async def retry(self, principal: Principal, execution_id: str) -> Execution:
        """A new execution with the same spec, checked against today's runtimes and limits."""
        spec = (await self.get(principal, execution_id)).spec
        command = SubmitCommand(
            runtime=spec.runtime,
            script=spec.script,
            stdin=spec.stdin,
            limits=LimitsRequest(**spec.limits.model_dump()),
            callback_url=spec.callback_url,
            interactive=spec.interactive,
        )
        execution, _ = await self.submit(principal, command)
        return execution

    async def delete(self, principal: Principal, execution_id: str) -> None:
        """Remove a finished execution (its owner or an admin); its Idempotency-Key is freed."""
        execution = await self.get(principal, execution_id)
        if not execution.status.is_terminal:
            raise NotFinishedError(execution_id, execution.status)
        if await self._store.delete(execution_id):
            await free_idempotency_key(self._idempotency, execution)

    async def count(self, status: ExecutionStatus) -> int:
        return await self._store.count(status)

    async def cancel(self, principal: Principal, execution_id: str) -> Execution:
        execution = await self.get(principal, execution_id)
        if execution.status.is_terminal:
            raise AlreadyFinishedError(execution_id, execution.status)
        await self._bus.publish(CancelRequested(execution_id=execution_id))
        return execution

    async def watch(
        self, principal: Principal, execution_id: str
    ) -> AsyncGenerator[StatusUpdate, None]:
        """The current status, then every change, ending after the terminal one."""
        async with self._live.subscribe(execution_id) as updates:
            # One read, after subscribing (no gap), both checks access and gives the status.
            current = await self.get(principal, execution_id)
            last = StatusUpdate(
                execution_id=execution_id,
                status=current.status,
                result=current.result,
                occurred_at=current.finished_at or current.started_at or current.created_at,
            )
            yield last
            if last.status.is_terminal:
                return
            while True:
                try:
                    update = await asyncio.wait_for(anext(updates), self._poll_seconds)
                except TimeoutError:
                    # A lost live update must not hang the stream: look at the store again.
                    latest = await self._require(execution_id)
                    update = StatusUpdate(
                        execution_id=execution_id, status=latest.status, result=latest.result
                    )
                if update.status == last.status:
                    continue
                last = update
                yield update
                if update.status.is_terminal:
                    return

    async def follow(
        self, principal: Principal, execution_id: str, after: Position
    ) -> AsyncGenerator[StreamItem, None]:
        """Status changes and live output from `after` on (see services/follow.py)."""
        statuses = self.watch(principal, execution_id)
        try:
            # Subscribes, then reads the execution once: the access check and its status.
            first = await anext(statuses)
        except BaseException:
            await statuses.aclose()
            raise
        return follow(
            statuses,
            self._output,
            execution_id,
            after,
            end_wait_seconds=self._end_wait_seconds,
            first=first,
        )

    async def attach(self, principal: Principal, execution_id: str) -> StdinPipe:
        """The live stdin of the caller's own running interactive execution."""
        execution = await self.get(principal, execution_id)
        if self._attach is None:
            raise InteractiveUnsupportedError()
        if execution.owner != principal.id:
            raise NotOwnerError(execution_id)
        if not execution.spec.interactive:
            raise NotInteractiveError(execution_id)
        if execution.status.is_terminal:
            raise NotAttachableError(execution_id, execution.status.value)
        return self._attach.pipe(execution_id, len(execution.spec.stdin.encode()))

    def detach(self, execution_id: str) -> None:
        """Forget the pipe of an execution that ended (its run forgets it too, if it ran)."""
        if self._attach is not None:
            self._attach.discard(execution_id)

    async def wait_for_end(
        self, principal: Principal, execution_id: str, seconds: float
    ) -> Execution:
        """The execution once it has ended, or as it stands when `seconds` have passed."""
        if seconds > 0:
            updates = self.watch(principal, execution_id)
            try:
                async with asyncio.timeout(seconds):
                    async for update in updates:
                        if update.status.is_terminal:
                            break
            except TimeoutError:
                pass  # still running: the caller answers with the id to follow
            finally:
                await updates.aclose()
        return await self.get(principal, execution_id)

    async def _claim_key(
        self, principal: Principal, key: str, spec: ExecutionSpec, execution: Execution
    ) -> tuple[str, str] | None:
        """Bind the key to `execution`, or return its binding. A binding to an execution that
        was never stored, made long ago, is dropped and the key bound anew: its request died
        between binding the key and storing (a killed API process), and would otherwise answer
        every retry "still being processed" until the key expires."""
        for _ in range(2):
            bound = await self._idempotency.claim(
                principal.id,
                key,
                spec.fingerprint(),
                execution.id,
                self._idempotency_ttl_seconds,
            )
            if bound is None:
                return None
            made_at = id_made_at(bound[1])
            abandoned = made_at is not None and utcnow() - made_at > _ABANDONED_AFTER
            if not abandoned or await self._store.get(bound[1]) is not None:
                return bound
            log.warning("idempotency key of a lost request bound anew", extra={"key": key})
            await self._idempotency.release(principal.id, key, only_for=bound[1])
        return bound

    async def _replay(
        self, key: str, spec: ExecutionSpec, fingerprint: str, execution_id: str
    ) -> Execution:
        if fingerprint != spec.fingerprint():
            raise IdempotencyConflictError(key)
        existing = await self._store.get(execution_id)
        if existing is None:
            # The first request with this key is still storing it: answer at once (409, retry)
            # rather than hold this request open guessing how long that takes.
            raise IdempotencyInFlightError(key)
        return existing

    async def _require(self, execution_id: str) -> Execution:
        execution = await self._store.get(execution_id)
        if execution is None:
            raise ExecutionNotFoundError(execution_id)
        return execution
