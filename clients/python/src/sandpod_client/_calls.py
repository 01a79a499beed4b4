"""Every API call as data (method, path, body, whether repeating it is safe) and the parsing of
its answer: the one place the sync and async clients learn the API from."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from sandpod_client.models import (
    ApiKey,
    BatchOutcome,
    ExecutionStatus,
    FileInfo,
    FileList,
    LimitsRequest,
    Runtime,
    Scope,
    SourceFile,
    Submission,
    WebhookSecret,
)

API = "/api/v1"
DEFAULT_RUNTIME = "python:3.12"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Whether sending it twice does no harm (reads, deletes, submits with an Idempotency-Key):
    # only such calls are retried after a 503 or a lost answer (retries.py).
    safe: bool = True
    authenticated: bool = True
    # Seconds the server may hold the request on purpose (`?wait=`), added to the read timeout.
    held: float = 0.0


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def submission(
    script: str | None,
    *,
    runtime: str,
    stdin: str,
    limits: LimitsRequest | Mapping[str, Any] | None,
    files: Sequence[SourceFile | Mapping[str, Any]] | None,
    entrypoint: str | None,
    args: Sequence[str] | None,
    compiler_options: Sequence[str] | None,
    callback_url: str | None,
    idempotency_key: str | None,
) -> Submission:
    return Submission.model_validate(
        {
            "runtime": runtime,
            "script": script,
            "files": None if files is None else list(files),
            "entrypoint": entrypoint,
            "stdin": stdin,
            "args": None if args is None else list(args),
            "compiler_options": None if compiler_options is None else list(compiler_options),
            "limits": limits,
            "callback_url": callback_url,
            "idempotency_key": idempotency_key,
        }
    )


def _body(item: Submission) -> dict[str, Any]:
    # Unset fields are left out, so a server that predates one of them still accepts the body.
    return item.model_dump(mode="json", exclude_none=True, exclude={"idempotency_key"})


def submit(item: Submission, *, wait: float = 0.0) -> Call:
    key = item.idempotency_key or new_idempotency_key()
    return Call(
        "POST",
        f"{API}/executions",
        params={"wait": wait} if wait > 0 else None,
        json=_body(item),
        headers={"Idempotency-Key": key},
        held=wait,
    )


def batch(items: Sequence[Submission | Mapping[str, Any]]) -> Call:
    bodies = []
    for raw in items:
        item = raw if isinstance(raw, Submission) else Submission.model_validate(raw)
        bodies.append(
            {**_body(item), "idempotency_key": item.idempotency_key or new_idempotency_key()}
        )
    return Call("POST", f"{API}/executions/batch", json={"items": bodies})


def execution(execution_id: str) -> str:
    return f"{API}/executions/{quote(execution_id, safe='')}"


def get(execution_id: str) -> Call:
    return Call("GET", execution(execution_id))


def list_executions(
    *,
    status: ExecutionStatus | str | None,
    runtime: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    cursor: str | None,
    limit: int,
    all_owners: bool,
) -> Call:
    params: dict[str, Any] = {"limit": limit}
    if status is not None:
        params["status"] = ExecutionStatus(status).value
    if runtime is not None:
        params["runtime"] = runtime
    if created_after is not None:
        params["created_after"] = created_after.isoformat()
    if created_before is not None:
        params["created_before"] = created_before.isoformat()
    if cursor is not None:
        params["cursor"] = cursor
    if all_owners:
        params["all"] = "true"
    return Call("GET", f"{API}/executions", params=params)


def cancel(execution_id: str) -> Call:
    return Call("POST", f"{execution(execution_id)}/cancel")


def retry(execution_id: str) -> Call:
    # Each call makes a new execution and the endpoint takes no Idempotency-Key: not repeated.
    return Call("POST", f"{execution(execution_id)}/retry", safe=False)


def delete(execution_id: str) -> Call:
    return Call("DELETE", execution(execution_id))


def events(execution_id: str, headers: Mapping[str, str]) -> Call:
    return Call("GET", f"{execution(execution_id)}/events", headers=headers)


def files(execution_id: str) -> Call:
    return Call("GET", f"{execution(execution_id)}/files")


def file(execution_id: str, name: str) -> Call:
    # The name may hold folders (`plots/a.png`): each part is quoted, the slashes kept.
    return Call("GET", f"{execution(execution_id)}/files/{quote(name, safe='/')}")


def parse_files(response: httpx.Response) -> FileList:
    """Either `{"files": [...], "truncated": bool}` or a bare list of files."""
    body = response.json()
    if isinstance(body, list):
        return FileList(files=[FileInfo.model_validate(item) for item in body])
    return FileList.model_validate(body)


def login(username: str, password: str) -> Call:
    return Call(
        "POST",
        f"{API}/auth/login",
        json={"username": username, "password": password},
        authenticated=False,
    )


def me() -> Call:
    return Call("GET", f"{API}/auth/me")


def runtimes() -> Call:
    return Call("GET", f"{API}/runtimes", authenticated=False)


RUNTIMES = TypeAdapter(list[Runtime])
API_KEYS = TypeAdapter(list[ApiKey])
BATCH = TypeAdapter(list[BatchOutcome])


def create_api_key(name: str, scopes: Sequence[Scope | str] | None) -> Call:
    body: dict[str, Any] = {"name": name}
    if scopes is not None:
        body["scopes"] = [Scope(scope).value for scope in scopes]
    return Call("POST", f"{API}/auth/keys", json=body, safe=False)


def list_api_keys() -> Call:
    return Call("GET", f"{API}/auth/keys")


def revoke_api_key(key_id: str) -> Call:
    return Call("DELETE", f"{API}/auth/keys/{quote(key_id, safe='')}")


def webhook_secret() -> Call:
    return Call("GET", f"{API}/webhooks/secret")


def rotate_webhook_secret() -> Call:
    # Rotating twice would throw away the secret the first rotation returned.
    return Call("POST", f"{API}/webhooks/secret/rotate", safe=False)


def parse_secret(response: httpx.Response) -> str:
    return WebhookSecret.model_validate(response.json()).secret
