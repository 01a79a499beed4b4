"""ScriptStore contract: the in-process store and MongoDB (FerretDB) behave the same."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pymongo
import pytest

from sandpod.adapters.memory.scripts import InMemoryScriptStore
from sandpod.adapters.mongo.scripts import SCRIPTS_COLLECTION, connect_scripts
from sandpod.domain.execution import utcnow
from sandpod.domain.scripts import Script, ScriptChanges
from sandpod.ports import ScriptStore
from tests import isolation


@pytest.fixture
async def mongo_scripts(
    mongo_url: str, mongo_database: pymongo.database.Database[dict[str, object]]
) -> AsyncIterator[ScriptStore]:
    settings = isolation.isolated_settings(
        mongo={"url": mongo_url, "database": mongo_database.name}
    )
    store = await connect_scripts(settings.mongo)
    try:
        yield store
    finally:
        await store.close()
        mongo_database.drop_collection(SCRIPTS_COLLECTION)


@pytest.fixture(params=["memory", "mongo"])
def scripts(request: pytest.FixtureRequest) -> ScriptStore:
    if request.param == "memory":
        return InMemoryScriptStore()
    mongo: ScriptStore = request.getfixturevalue("mongo_scripts")
    return mongo


def now() -> datetime:
    # Stores keep milliseconds (BSON dates), so the tests use times at that precision.
    value = utcnow()
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def script(owner: str = "usr_ada", name: str = "hello", content: str = "print(1)") -> Script:
    at = now()
    return Script(
        owner=owner,
        name=name,
        runtime="python:3.12",
        content=content,
        stdin="ada\n",
        created_at=at,
        updated_at=at,
    )


async def test_a_script_reads_back_as_stored(scripts: ScriptStore) -> None:
    saved = script(content="print('ü ✓')\n" * 3)
    await scripts.add(saved)
    assert await scripts.get(saved.id) == saved


async def test_unknown_scripts_are_none_or_false(scripts: ScriptStore) -> None:
    assert await scripts.get("sc_nothing") is None
    assert await scripts.replace(script()) is False
    assert await scripts.delete("sc_nothing") is False


async def test_ids_are_unique(scripts: ScriptStore) -> None:
    saved = script()
    await scripts.add(saved)
    with pytest.raises(KeyError):
        await scripts.add(saved.model_copy(update={"name": "other"}))
    assert await scripts.get(saved.id) == saved


async def test_replace_changes_the_stored_script(scripts: ScriptStore) -> None:
    saved = script()
    await scripts.add(saved)
    renamed = saved.changed(
        ScriptChanges(name="renamed", content="print(2)"), at=now() + timedelta(seconds=1)
    )
    assert await scripts.replace(renamed) is True
    stored = await scripts.get(saved.id)
    assert stored == renamed
    assert stored is not None
    assert (stored.name, stored.content, stored.stdin, stored.created_at) == (
        "renamed",
        "print(2)",
        saved.stdin,
        saved.created_at,
    )


async def test_delete_removes_only_that_script(scripts: ScriptStore) -> None:
    first, second = script(name="one"), script(name="two")
    await scripts.add(first)
    await scripts.add(second)
    assert await scripts.delete(first.id) is True
    assert await scripts.get(first.id) is None
    assert await scripts.get(second.id) == second
    assert await scripts.delete(first.id) is False


async def test_list_is_per_owner_newest_first_in_pages(scripts: ScriptStore) -> None:
    mine = [script(name=f"mine {n}") for n in range(5)]
    theirs = script(owner="usr_bob", name="theirs")
    for item in [*mine, theirs]:
        await scripts.add(item)
    newest_first = sorted(mine, key=lambda item: item.id, reverse=True)

    first = await scripts.list(owner="usr_ada", after=None, limit=2)
    assert list(first.items) == newest_first[:2]
    assert first.next_cursor == newest_first[1].id
    second = await scripts.list(owner="usr_ada", after=first.next_cursor, limit=2)
    assert list(second.items) == newest_first[2:4]
    last = await scripts.list(owner="usr_ada", after=second.next_cursor, limit=2)
    assert list(last.items) == newest_first[4:]
    assert last.next_cursor is None

    everyone = await scripts.list(owner=None, after=None, limit=100)
    assert {item.id for item in everyone.items} == {item.id for item in [*mine, theirs]}
    assert (await scripts.list(owner="usr_nobody", after=None, limit=10)).items == []


async def test_concurrent_adds_all_land(scripts: ScriptStore) -> None:
    many = [script(name=f"s{n}") for n in range(10)]
    await asyncio.gather(*(scripts.add(item) for item in many))
    listed = await scripts.list(owner="usr_ada", after=None, limit=100)
    assert {item.id for item in listed.items} == {item.id for item in many}


async def test_ping(scripts: ScriptStore) -> None:
    await scripts.ping()
