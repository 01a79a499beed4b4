"""Who is asking: a signed-in user or an API key, with what it may do."""

from dataclasses import dataclass

from sandpod.domain.api_keys import Scope
from sandpod.domain.execution import Execution


@dataclass(frozen=True)
class Principal:
    """Who is asking. Owners see their own executions; admins see all."""

    id: str
    is_admin: bool = False
    # Set when an API key is the credential: its id and what it may do (a session may do all).
    key_id: str | None = None
    scopes: frozenset[Scope] | None = None

    def can_see(self, execution: Execution) -> bool:
        return self.is_admin or execution.owner == self.id

    def allows(self, scope: Scope) -> bool:
        return self.scopes is None or scope in self.scopes
