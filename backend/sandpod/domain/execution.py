"""The Execution aggregate."""

import hashlib
import json
import secrets
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from sandpod.domain.files import SourceFile
from sandpod.domain.limits import Limits
from sandpod.domain.result import Result
from sandpod.domain.status import ExecutionStatus, check_transition
from sandpod.domain.webhooks import WebhookDelivery


def utcnow() -> datetime:
    return datetime.now(UTC)


_ID_TIME = "%Y%m%d%H%M%S%f"
_ID_TIME_LENGTH = 20  # what _ID_TIME writes: 14 digits of date and time, 6 of microseconds


def new_execution_id() -> str:
    # Time-ordered prefix keeps ids sortable for cursor pagination; random suffix for uniqueness.
    return f"ex_{utcnow().strftime(_ID_TIME)}{secrets.token_hex(6)}"


def id_made_at(execution_id: str) -> datetime | None:
    """When new_execution_id made this id; None for an id it did not make."""
    stamp = execution_id.removeprefix("ex_")[:_ID_TIME_LENGTH]
    try:
        return datetime.strptime(stamp, _ID_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


class ExecutionSpec(BaseModel):
    """What the caller asked to run, after validation."""

    model_config = ConfigDict(frozen=True)

    runtime: str
    script: str  # the entrypoint's text; the whole program when `files` is empty
    stdin: str = ""
    limits: Limits
    files: tuple[SourceFile, ...] = ()
    entrypoint: str | None = None  # which of `files` runs (None: the runtime's file_name)
    args: tuple[str, ...] = ()
    compiler_options: tuple[str, ...] = ()
    callback_url: str | None = None
    interactive: bool = False  # stdin stays open for an attached client after `stdin`

    def fingerprint(self) -> str:
        """Stable hash of the request, to tell idempotent retries from key reuse."""
        # Unset fields are left out, so a request without them hashes as before they existed.
        unset = {"callback_url"} if self.callback_url is None else set()
        if not self.interactive:
            unset.add("interactive")
        body = json.dumps(self.model_dump(mode="json", exclude=unset), sort_keys=True).encode()
        return hashlib.sha256(body).hexdigest()


class Execution(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_execution_id)
    owner: str
    spec: ExecutionSpec
    status: ExecutionStatus = ExecutionStatus.QUEUED
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: Result | None = None
    idempotency_key: str | None = None
    webhook: WebhookDelivery | None = None  # set when the spec names a callback_url
    version: int = 0  # bumped on every status change; guards conditional updates

    def transitioned(
        self, target: ExecutionStatus, *, at: datetime, result: Result | None = None
    ) -> "Execution":
        """A copy moved to `target`; raises IllegalTransitionError when not allowed."""
        check_transition(self.status, target)
        changes: dict[str, object] = {"status": target, "version": self.version + 1}
        if target is ExecutionStatus.RUNNING:
            changes["started_at"] = at
        if target.is_terminal:
            changes["finished_at"] = at
            changes["result"] = result
        return self.model_copy(update=changes)
