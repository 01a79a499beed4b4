"""The async client against the real embedded server (tests/server.py)."""

from __future__ import annotations

import asyncio

import pytest

from sandpod_client import (
    AsyncSandpod,
    ExecutionStatus,
    NotFoundError,
    StatusEvent,
    ValidationFailedError,
)
from tests.conftest import Account

pytestmark = pytest.mark.live


async def test_run_returns_the_finished_execution(async_client: AsyncSandpod) -> None:
    execution = await async_client.run("print('hi from asyncio')", wait=15)
    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.stdout == "hi from asyncio\n"


async def test_many_runs_at_once(async_client: AsyncSandpod) -> None:
    executions = await asyncio.gather(
        *(async_client.run(f"print({n} * {n})", wait=15) for n in range(4))
    )
    assert [execution.stdout for execution in executions] == ["0\n", "1\n", "4\n", "9\n"]


async def test_stream_ends_with_the_result(async_client: AsyncSandpod) -> None:
    submitted = await async_client.executions.submit("import sys\nsys.exit(3)")
    events = [event async for event in async_client.executions.stream(submitted.id)]
    last = events[-1]
    assert isinstance(last, StatusEvent)
    assert last.status is ExecutionStatus.FAILED
    assert last.result is not None
    assert last.result.exit_code == 3


async def test_errors_and_sign_in(async_client: AsyncSandpod, account: Account) -> None:
    with pytest.raises(ValidationFailedError, match="cobol"):
        await async_client.executions.submit("x", runtime="cobol:85")
    with pytest.raises(NotFoundError):
        await async_client.executions.get("missing")
    async with AsyncSandpod(account.url) as anonymous:
        token = await anonymous.login(account.username, account.password)
        assert token.access_token
        assert (await anonymous.me()).username == account.username
