"""IdempotencyKeys contract: the in-process keys and Redis behave the same."""

import asyncio

from sandpod.ports import IdempotencyKeys

DAY = 24 * 3600


async def test_first_claim_binds_and_later_claims_get_the_binding(
    idempotency: IdempotencyKeys,
) -> None:
    assert await idempotency.claim("alice", "key-1", "fp-a", "ex_1", DAY) is None
    # A retry (same fingerprint) and a reuse (another one) both see the first binding.
    assert await idempotency.claim("alice", "key-1", "fp-a", "ex_2", DAY) == ("fp-a", "ex_1")
    assert await idempotency.claim("alice", "key-1", "fp-b", "ex_3", DAY) == ("fp-a", "ex_1")


async def test_keys_are_separate_per_scope_and_key(idempotency: IdempotencyKeys) -> None:
    assert await idempotency.claim("alice", "key-1", "fp", "ex_1", DAY) is None
    assert await idempotency.claim("bob", "key-1", "fp", "ex_2", DAY) is None
    assert await idempotency.claim("alice", "key-2", "fp", "ex_3", DAY) is None
    # Separators inside scope or key must not make two callers share a binding.
    assert await idempotency.claim("carol:x", "y", "fp", "ex_4", DAY) is None
    assert await idempotency.claim("carol", "x:y", "fp", "ex_5", DAY) is None


async def test_concurrent_claims_bind_once(idempotency: IdempotencyKeys) -> None:
    outcomes = await asyncio.gather(
        *(idempotency.claim("alice", "race", "fp", f"ex_{n}", DAY) for n in range(10))
    )
    assert outcomes.count(None) == 1
    winner = f"ex_{outcomes.index(None)}"
    assert {outcome for outcome in outcomes if outcome is not None} == {("fp", winner)}


async def test_release_frees_the_key(idempotency: IdempotencyKeys) -> None:
    assert await idempotency.claim("alice", "key-1", "fp-a", "ex_1", DAY) is None
    await idempotency.release("alice", "key-1")
    await idempotency.release("alice", "never-claimed")
    assert await idempotency.claim("alice", "key-1", "fp-b", "ex_2", DAY) is None
    assert await idempotency.claim("alice", "key-1", "fp-c", "ex_3", DAY) == ("fp-b", "ex_2")


async def test_a_binding_expires_after_its_ttl(idempotency: IdempotencyKeys) -> None:
    assert await idempotency.claim("alice", "short", "fp-a", "ex_1", 1) is None
    assert await idempotency.claim("alice", "short", "fp-b", "ex_2", 1) == ("fp-a", "ex_1")
    await asyncio.sleep(1.2)  # the 1 s TTL running out is the behaviour under test
    assert await idempotency.claim("alice", "short", "fp-c", "ex_3", DAY) is None


async def test_release_for_an_execution_frees_only_its_own_binding(
    idempotency: IdempotencyKeys,
) -> None:
    assert await idempotency.claim("alice", "key-1", "fp-a", "ex_1", DAY) is None
    await idempotency.release("alice", "key-1", only_for="ex_other")  # rebound since: kept
    assert await idempotency.claim("alice", "key-1", "fp-b", "ex_2", DAY) == ("fp-a", "ex_1")
    await idempotency.release("alice", "key-1", only_for="ex_1")
    await idempotency.release("alice", "never-claimed", only_for="ex_1")
    assert await idempotency.claim("alice", "key-1", "fp-b", "ex_2", DAY) is None
