"""Output files kept in a dict (embedded mode)."""

from collections.abc import Sequence

from sandpod.domain.files import StoredFile


class InMemoryOutputFiles:
    def __init__(self) -> None:
        self._files: dict[str, dict[str, StoredFile]] = {}

    async def put(self, execution_id: str, files: Sequence[StoredFile]) -> None:
        self._files[execution_id] = {item.name: item for item in files}

    async def get(self, execution_id: str, name: str) -> StoredFile | None:
        return self._files.get(execution_id, {}).get(name)
