"""UserStore contract: the in-process store and MongoDB (FerretDB) behave the same."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pymongo
import pytest

from sandpod.adapters.memory.users import InMemoryUserStore
from sandpod.adapters.mongo.users import (
    API_KEYS_COLLECTION,
    CLAIMS_COLLECTION,
    USERS_COLLECTION,
    WEBHOOK_SECRETS_COLLECTION,
    connect_users,
)
from sandpod.domain.api_keys import ApiKey, Scope
from sandpod.domain.users import LockoutPolicy, Role, User, utcnow
from sandpod.ports import UsernameTakenError, UserStore
from tests import isolation

POLICY = LockoutPolicy(max_failures=3, window=timedelta(minutes=15), lock=timedelta(minutes=15))


@pytest.fixture
async def mongo_users(
    mongo_url: str, mongo_database: pymongo.database.Database[dict[str, object]]
) -> AsyncIterator[UserStore]:
    settings = isolation.isolated_settings(
        mongo={"url": mongo_url, "database": mongo_database.name}
    )
    store = await connect_users(settings.mongo)
    try:
        yield store
    finally:
        await store.close()
        for name in (
            USERS_COLLECTION,
            CLAIMS_COLLECTION,
            API_KEYS_COLLECTION,
            WEBHOOK_SECRETS_COLLECTION,
        ):
            mongo_database.drop_collection(name)


@pytest.fixture(params=["memory", "mongo"])
def users(request: pytest.FixtureRequest) -> UserStore:
    if request.param == "memory":
        return InMemoryUserStore()
    mongo: UserStore = request.getfixturevalue("mongo_users")
    return mongo


def now() -> datetime:
    # Stores keep milliseconds (BSON dates), so the tests use times at that precision.
    value = utcnow()
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def user(name: str = "ada", role: Role = Role.USER) -> User:
    return User(username=name, password_hash="$argon2id$fake", role=role, created_at=now())


async def test_a_user_reads_back_as_stored(users: UserStore) -> None:
    ada, root = user("ada"), user("root", Role.ADMIN)
    await users.add(ada)
    await users.add(root)
    assert await users.get(ada.id) == ada
    assert await users.get_by_username("ada") == ada
    assert await users.get_by_username("root") == root
    stored_root = await users.get(root.id)
    assert stored_root is not None
    assert stored_root.role is Role.ADMIN


async def test_unknown_users_are_none(users: UserStore) -> None:
    assert await users.get("usr_nobody") is None
    assert await users.get_by_username("nobody") is None
    assert await users.record_failure("usr_nobody", at=now(), policy=POLICY) is None
    assert await users.end_sessions("usr_nobody") is None
    await users.reset_failures("usr_nobody")


async def test_usernames_are_unique(users: UserStore) -> None:
    await users.add(user("ada"))
    with pytest.raises(UsernameTakenError):
        await users.add(user("ada"))


async def test_concurrent_registrations_of_one_name_leave_one_account(users: UserStore) -> None:
    outcomes = await asyncio.gather(
        *(users.add(user("bob")) for _ in range(8)), return_exceptions=True
    )
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, UsernameTakenError) for o in outcomes if o is not None)


async def test_failures_lock_the_account_then_a_reset_clears_it(users: UserStore) -> None:
    ada = user()
    await users.add(ada)
    t0 = now()
    first = await users.record_failure(ada.id, at=t0, policy=POLICY)
    assert first is not None
    assert (first.failed_logins, first.first_failure_at) == (1, t0)
    await users.record_failure(ada.id, at=t0 + timedelta(seconds=1), policy=POLICY)
    locked = await users.record_failure(ada.id, at=t0 + timedelta(seconds=2), policy=POLICY)
    assert locked is not None
    assert locked.locked_until == t0 + timedelta(seconds=2) + POLICY.lock
    stored = await users.get(ada.id)
    assert stored is not None
    assert stored.is_locked(t0 + timedelta(minutes=5))
    # failures during the lock change nothing
    assert await users.record_failure(ada.id, at=t0 + timedelta(minutes=1), policy=POLICY) == stored
    await users.reset_failures(ada.id)
    cleared = await users.get(ada.id)
    assert cleared is not None
    assert (cleared.failed_logins, cleared.first_failure_at, cleared.locked_until) == (
        0,
        None,
        None,
    )


async def test_concurrent_failures_are_all_counted(users: UserStore) -> None:
    ada = user()
    await users.add(ada)
    many = LockoutPolicy(max_failures=100, window=timedelta(hours=1), lock=timedelta(hours=1))
    at = now()
    await asyncio.gather(*(users.record_failure(ada.id, at=at, policy=many) for _ in range(10)))
    stored = await users.get(ada.id)
    assert stored is not None
    assert stored.failed_logins == 10


async def test_ending_sessions_bumps_the_version_every_time(users: UserStore) -> None:
    ada = user()
    await users.add(ada)
    ended = await users.end_sessions(ada.id)
    assert ended is not None
    assert ended.session_version == 1
    await asyncio.gather(*(users.end_sessions(ada.id) for _ in range(5)))
    stored = await users.get(ada.id)
    assert stored is not None
    assert stored.session_version == 6


async def test_concurrent_changes_of_different_kinds_all_land(users: UserStore) -> None:
    ada = user()
    await users.add(ada)
    many = LockoutPolicy(max_failures=100, window=timedelta(hours=1), lock=timedelta(hours=1))
    at = now()
    await asyncio.gather(
        *(users.record_failure(ada.id, at=at, policy=many) for _ in range(4)),
        *(users.end_sessions(ada.id) for _ in range(4)),
    )
    stored = await users.get(ada.id)
    assert stored is not None
    assert (stored.failed_logins, stored.session_version) == (4, 4)
    assert (stored.username, stored.password_hash, stored.created_at) == (
        ada.username,
        ada.password_hash,
        ada.created_at,
    )


READ_WRITE = frozenset({Scope.EXECUTIONS_READ, Scope.EXECUTIONS_WRITE})


def api_key(owner: str, name: str = "ci", scopes: frozenset[Scope] = READ_WRITE) -> ApiKey:
    key, _ = ApiKey.issue(owner, name, scopes)
    return key.model_copy(update={"created_at": now()})


async def test_an_api_key_reads_back_as_stored_and_lists_per_owner(users: UserStore) -> None:
    first = api_key("usr_a", "first")
    read_only = api_key("usr_a", "second", frozenset({Scope.EXECUTIONS_READ})).model_copy(
        update={"created_at": first.created_at + timedelta(seconds=1)}
    )
    theirs = api_key("usr_b")
    for key in (first, read_only, theirs):
        await users.add_api_key(key)
    assert await users.get_api_key(first.id) == first
    assert await users.get_api_key(read_only.id) == read_only
    assert await users.get_api_key("missing") is None
    assert [key.id for key in await users.list_api_keys("usr_a")] == [first.id, read_only.id]
    assert await users.list_api_keys("usr_b") == [theirs]
    assert await users.list_api_keys("usr_c") == []
    with pytest.raises(ValueError, match="exists"):
        await users.add_api_key(first)


async def test_revoking_a_key_keeps_the_first_revocation_time(users: UserStore) -> None:
    key = api_key("usr_a")
    await users.add_api_key(key)
    first = now()
    revoked = await users.revoke_api_key(key.id, at=first)
    assert revoked is not None
    assert revoked.revoked_at == first
    again = await users.revoke_api_key(key.id, at=first + timedelta(minutes=1))
    assert again is not None
    assert again.revoked_at == first
    assert await users.revoke_api_key("missing", at=first) is None
    assert (await users.list_api_keys("usr_a"))[0].revoked_at == first


async def test_touching_a_key_records_its_latest_use(users: UserStore) -> None:
    key = api_key("usr_a")
    await users.add_api_key(key)
    used = now()
    await users.touch_api_key(key.id, at=used)
    stored = await users.get_api_key(key.id)
    assert stored is not None
    assert stored.last_used_at == used
    await users.touch_api_key("missing", at=used)  # no error, nothing stored
    assert await users.get_api_key("missing") is None


async def test_the_first_webhook_secret_stays_until_it_is_replaced(users: UserStore) -> None:
    assert await users.ensure_webhook_secret("usr_a", "first") == "first"
    assert await users.ensure_webhook_secret("usr_a", "second") == "first"
    assert await users.ensure_webhook_secret("usr_b", "other") == "other"  # one per owner
    await users.set_webhook_secret("usr_a", "rotated")
    assert await users.ensure_webhook_secret("usr_a", "third") == "rotated"
    await users.set_webhook_secret("usr_new", "set first")  # a rotation before any read
    assert await users.ensure_webhook_secret("usr_new", "unused") == "set first"


async def test_concurrent_first_webhook_secrets_agree_on_one(users: UserStore) -> None:
    candidates = [f"secret-{index}" for index in range(8)]
    got = await asyncio.gather(*(users.ensure_webhook_secret("usr_c", c) for c in candidates))
    assert len(set(got)) == 1
    assert got[0] in candidates
