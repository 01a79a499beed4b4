"""Idempotency-Key rules in the submit service (in-process adapters, no I/O)."""

from datetime import timedelta

import pytest

from sandpod.adapters.memory.event_bus import InMemoryEventBus
from sandpod.adapters.memory.idempotency import InMemoryIdempotencyKeys
from sandpod.adapters.memory.live_updates import InMemoryLiveUpdates
from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.domain.execution import Execution, utcnow
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.principals import Principal
from sandpod.domain.runtimes import RuntimeRegistry, python
from sandpod.domain.submission import SubmissionCaps
from sandpod.ports import ServiceUnavailableError
from sandpod.services.errors import IdempotencyConflictError, IdempotencyInFlightError
from sandpod.services.executions import ExecutionService, InputCaps, SubmitCommand

ALICE = Principal(id="alice")
HELLO = SubmitCommand(runtime="python:3.12", script="print(1)")


def service(
    keys: InMemoryIdempotencyKeys, store: InMemoryExecutionStore | None = None
) -> ExecutionService:
    return ExecutionService(
        store=store if store is not None else InMemoryExecutionStore(),
        bus=InMemoryEventBus(),
        live=InMemoryLiveUpdates(),
        idempotency=keys,
        runtimes=RuntimeRegistry([python("3.12")]),
        limits=DEFAULT_POLICY,
        caps=InputCaps(
            max_script_bytes=1000,
            max_stdin_bytes=1000,
            program=SubmissionCaps(max_files=4, max_files_bytes=1000, max_args=4),
        ),
        idempotency_ttl_seconds=60,
    )


async def test_same_key_and_body_replays_the_execution() -> None:
    executions = service(InMemoryIdempotencyKeys())
    first, created = await executions.submit(ALICE, HELLO, "k")
    again, created_again = await executions.submit(ALICE, HELLO, "k")
    assert (created, created_again) == (True, False)
    assert again.id == first.id


async def test_same_key_with_another_body_is_a_conflict() -> None:
    executions = service(InMemoryIdempotencyKeys())
    await executions.submit(ALICE, HELLO, "k")
    other = SubmitCommand(runtime="python:3.12", script="print(2)")
    with pytest.raises(IdempotencyConflictError, match="different request body"):
        await executions.submit(ALICE, other, "k")


async def test_a_key_whose_first_request_is_still_storing_answers_retry_at_once() -> None:
    keys = InMemoryIdempotencyKeys()
    executions = service(keys)
    # The first request has claimed the key but not stored its execution yet.
    spec = executions.validate(HELLO)
    await keys.claim(ALICE.id, "k", spec.fingerprint(), "ex_not_stored_yet", 60)
    with pytest.raises(IdempotencyInFlightError, match="still being processed"):
        await executions.submit(ALICE, HELLO, "k")


async def test_keys_are_per_user() -> None:
    executions = service(InMemoryIdempotencyKeys())
    first, _ = await executions.submit(ALICE, HELLO, "k")
    bobs, created = await executions.submit(Principal(id="bob"), HELLO, "k")
    assert created
    assert bobs.id != first.id


async def test_a_key_whose_first_request_died_before_storing_is_bound_anew() -> None:
    keys = InMemoryIdempotencyKeys()
    executions = service(keys)
    # A minute ago a request bound the key and died (a killed API) before storing its execution.
    spec = executions.validate(HELLO)
    made = (utcnow() - timedelta(minutes=1)).strftime("%Y%m%d%H%M%S%f")
    await keys.claim(ALICE.id, "k", spec.fingerprint(), f"ex_{made}0123456789ab", 3600)

    execution, created = await executions.submit(ALICE, HELLO, "k")

    assert created
    again, created_again = await executions.submit(ALICE, HELLO, "k")
    assert (again.id, created_again) == (execution.id, False)


class AnswerLostStore(InMemoryExecutionStore):
    """Stores the execution, then fails as a write whose answer was lost does (a timeout while
    the server restarts): the caller cannot tell whether it landed."""

    def __init__(self) -> None:
        super().__init__()
        self.lose_answers = 1

    async def add(self, execution: Execution) -> None:
        await super().add(execution)
        if self.lose_answers:
            self.lose_answers -= 1
            raise ServiceUnavailableError("MongoDB is unavailable: timed out")


async def test_a_retry_after_an_ambiguous_store_failure_gets_the_stored_execution() -> None:
    # Seen in the soak: FerretDB restarting, the insert landed but timed out; the key was
    # released, so the client's retry stored and ran a second execution of the same request.
    store = AnswerLostStore()
    executions = service(InMemoryIdempotencyKeys(), store=store)
    with pytest.raises(ServiceUnavailableError):
        await executions.submit(ALICE, HELLO, "k")

    again, created = await executions.submit(ALICE, HELLO, "k")

    assert not created
    assert [
        item.id for item in (await store.list(owner=None, status=None, after=None, limit=10)).items
    ] == [again.id]
