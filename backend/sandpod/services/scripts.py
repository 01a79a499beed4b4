"""Save, list, read, change and delete scripts: owned per user, like executions."""

from dataclasses import dataclass

from sandpod.domain.execution import utcnow
from sandpod.domain.principals import Principal
from sandpod.domain.runtimes import RuntimeRegistry
from sandpod.domain.scripts import Script, ScriptChanges
from sandpod.ports import ScriptPage, ScriptStore
from sandpod.services.errors import InputTooLargeError, ScriptNotFoundError
from sandpod.services.executions import InputCaps


@dataclass(frozen=True)
class NewScript:
    name: str
    runtime: str
    content: str
    stdin: str = ""


class ScriptService:
    def __init__(self, *, store: ScriptStore, runtimes: RuntimeRegistry, caps: InputCaps) -> None:
        self._store = store
        self._runtimes = runtimes
        self._caps = caps

    async def create(self, principal: Principal, new: NewScript) -> Script:
        script = Script(
            owner=principal.id,
            name=new.name,
            runtime=new.runtime,
            content=new.content,
            stdin=new.stdin,
        )
        self._check(script)
        await self._store.add(script)
        return script

    async def get(self, principal: Principal, script_id: str) -> Script:
        script = await self._store.get(script_id)
        # Someone else's script is reported as missing, as executions are: existence stays hidden.
        if script is None or not (principal.is_admin or script.owner == principal.id):
            raise ScriptNotFoundError(script_id)
        return script

    async def list(
        self,
        principal: Principal,
        *,
        cursor: str | None = None,
        limit: int = 20,
        all_owners: bool = False,
    ) -> ScriptPage:
        owner = None if (principal.is_admin and all_owners) else principal.id
        return await self._store.list(owner=owner, after=cursor, limit=limit)

    async def update(self, principal: Principal, script_id: str, changes: ScriptChanges) -> Script:
        updated = (await self.get(principal, script_id)).changed(changes, at=utcnow())
        self._check(updated)
        if not await self._store.replace(updated):
            raise ScriptNotFoundError(script_id)  # deleted while we changed it
        return updated

    async def delete(self, principal: Principal, script_id: str) -> None:
        await self.get(principal, script_id)
        if not await self._store.delete(script_id):
            raise ScriptNotFoundError(script_id)

    def _check(self, script: Script) -> None:
        """The rules a submission of this script would meet: a known runtime, the size caps."""
        self._runtimes.get(script.runtime)
        for what, text, most in (
            ("script", script.content, self._caps.max_script_bytes),
            ("stdin", script.stdin, self._caps.max_stdin_bytes),
        ):
            size = len(text.encode())
            if size > most:
                raise InputTooLargeError(what, size, most)
