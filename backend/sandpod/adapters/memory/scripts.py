"""Saved scripts kept in a dict (embedded mode); one lock keeps each change whole."""

import asyncio

from sandpod.domain.scripts import Script
from sandpod.ports import ScriptPage


class InMemoryScriptStore:
    def __init__(self) -> None:
        self._items: dict[str, Script] = {}
        self._lock = asyncio.Lock()

    async def add(self, script: Script) -> None:
        async with self._lock:
            if script.id in self._items:
                raise KeyError(f"a script with id {script.id!r} exists")
            self._items[script.id] = script

    async def get(self, script_id: str) -> Script | None:
        return self._items.get(script_id)

    async def list(self, *, owner: str | None, after: str | None, limit: int) -> ScriptPage:
        matching = sorted(
            (
                item
                for item in self._items.values()
                if (owner is None or item.owner == owner) and (after is None or item.id < after)
            ),
            key=lambda item: item.id,
            reverse=True,
        )
        return ScriptPage.of(matching, limit)

    async def replace(self, script: Script) -> bool:
        async with self._lock:
            if script.id not in self._items:
                return False
            self._items[script.id] = script
            return True

    async def delete(self, script_id: str) -> bool:
        async with self._lock:
            return self._items.pop(script_id, None) is not None

    async def ping(self) -> None:
        return None
