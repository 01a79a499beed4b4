"""The sync client against the real embedded server (tests/server.py)."""

from __future__ import annotations

import pytest

from sandpod_client import (
    AuthenticationError,
    ExecutionStatus,
    NotFoundError,
    OutputEvent,
    Sandpod,
    StatusEvent,
    ValidationFailedError,
)

pytestmark = pytest.mark.live


def test_run_returns_the_finished_execution_in_one_call(client: Sandpod) -> None:
    execution = client.run("print('hello')", runtime="python:3.12", wait=15)
    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.stdout == "hello\n"
    assert execution.exit_code == 0
