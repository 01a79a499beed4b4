"""UserStore contract: the in-process store and MongoDB (FerretDB) behave the same."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pymongo
import pytest

from sandpod.adapters.memory.users import InMemoryUserStore
from sandpod.adapters.mongo.users import CLAIMS_COLLECTION, USERS_COLLECTION, connect_users
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
        for name in (USERS_COLLECTION, CLAIMS_COLLECTION):
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
