"""A saved script: a named piece of code with the runtime and stdin to run it with."""

import secrets
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sandpod.domain.execution import utcnow

ScriptName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def new_script_id() -> str:
    # Time-ordered like execution ids, so the newest-first listing pages by id.
    return f"sc_{utcnow().strftime('%Y%m%d%H%M%S%f')}{secrets.token_hex(6)}"


class ScriptChanges(BaseModel):
    """What an update may change; a field left out keeps its value."""

    model_config = ConfigDict(frozen=True)

    name: ScriptName | None = None
    runtime: str | None = None
    content: str | None = None
    stdin: str | None = None


class Script(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_script_id)
    owner: str
    name: ScriptName
    runtime: str
    content: str
    stdin: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def changed(self, changes: ScriptChanges, *, at: datetime) -> "Script":
        """A copy with `changes` applied and `updated_at` moved to `at`."""
        fields = changes.model_dump(exclude_none=True)
        return self.model_copy(update={**fields, "updated_at": at})
