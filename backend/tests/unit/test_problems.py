"""Every error reaches the client as problem+json: the status its class carries and a message a
person can act on; an internal fault is a 500 that gives nothing of its internals away."""

import json
from collections.abc import AsyncIterator

import httpx
import pydantic
import pytest
from pydantic import SecretStr

from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.config import AuthSettings, Settings
from sandpod.domain.execution import Execution
from sandpod.domain.status import ExecutionStatus, IllegalTransitionError
from tests.fixtures.apps import api_client

INTERNAL = "secret-internal-detail"


def internal_faults() -> list[Exception]:
    try:
        json.loads("{" + INTERNAL)
    except json.JSONDecodeError as error:
        decode_error = error
    try:
        pydantic.TypeAdapter(int).validate_python(INTERNAL)
    except pydantic.ValidationError as error:
        validation_error = error
    return [
        ValueError(INTERNAL),
        decode_error,  # a corrupt idempotency record
        validation_error,  # a stored document that no longer parses
        IllegalTransitionError(ExecutionStatus.COMPLETED, ExecutionStatus.RUNNING),
    ]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(Settings(), raise_app_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("fault", internal_faults(), ids=lambda fault: type(fault).__name__)
async def test_an_internal_fault_is_a_500_that_hides_its_text(
    http: httpx.AsyncClient, fault: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: InMemoryExecutionStore, execution_id: str) -> Execution | None:
        raise fault

    monkeypatch.setattr(InMemoryExecutionStore, "get", broken)
    response = await http.get("/api/v1/executions/ex_1")
    assert response.status_code == 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "internal error; it has been logged"
    assert INTERNAL not in response.text
    assert str(fault) not in response.text


async def test_an_invalid_username_is_a_422_naming_the_rule() -> None:
    settings = Settings(
        auth=AuthSettings(
            auth_required=True,
            jwt_secret=SecretStr("p" * 40),
            password_hash_memory_kib=1024,
            password_hash_time_cost=1,
        )
    )
    async with api_client(settings) as client:
        response = await client.post(
            "/api/v1/auth/register",
            json={"username": "no spaces allowed", "password": "a long passphrase 42"},
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "username" in response.json()["detail"]
