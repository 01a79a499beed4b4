"""Fixtures: one real embedded server for the session, and signed-in sync and async clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from sandpod_client import AsyncSandpod, Sandpod
from tests.server import Server, embedded_server

PASSWORD = "a long sdk-test passphrase 42"


@dataclass(frozen=True)
class Account:
    url: str
    username: str
    password: str


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    # Many clients sign in and submit here: the budgets are off (one test has its own server
    # with tight ones).
    with embedded_server(
        SANDPOD_RATE_LIMIT_AUTH_PER_IP="0",
        SANDPOD_RATE_LIMIT_SUBMIT_PER_USER="0",
        SANDPOD_RATE_LIMIT_SUBMIT_PER_IP="0",
        SANDPOD_RATE_LIMIT_READ_PER_USER="0",
        SANDPOD_RATE_LIMIT_READ_PER_IP="0",
        SANDPOD_MAX_WAIT_SECONDS="20",
    ) as running:
        yield running


def register(url: str) -> Account:
    """A new account on the server at `url`."""
    username = f"u{uuid.uuid4().hex[:12]}"
    response = httpx.post(
        f"{url}/api/v1/auth/register",
        json={"username": username, "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return Account(url, username, PASSWORD)


@pytest.fixture
def account(server: Server) -> Account:
    return register(server.url)


@pytest.fixture
def client(account: Account) -> Iterator[Sandpod]:
    with Sandpod(account.url, username=account.username, password=account.password) as sandpod:
        yield sandpod


@pytest.fixture
async def async_client(account: Account) -> AsyncIterator[AsyncSandpod]:
    async with AsyncSandpod(
        account.url, username=account.username, password=account.password
    ) as sandpod:
        yield sandpod
