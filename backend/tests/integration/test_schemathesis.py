"""Property-based run over the whole OpenAPI spec, signed in: no input makes the server fail."""

from collections.abc import Callable
from typing import Any, cast

import pytest
import schemathesis
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi

from sandpod.composition.embedded import embedded_app
from sandpod.config import ApiSettings, AuthSettings, RateLimitSettings, Settings
from tests.fakes import FakeSandbox

PASSWORD = "fuzzing passphrase 42"
SETTINGS = Settings(
    auth=AuthSettings(
        auth_required=True,
        jwt_secret=SecretStr("schemathesis-secret-" + "y" * 32),
        password_hash_memory_kib=1024,
        password_hash_time_cost=1,
    ),
    # no budgets: a 429 would only hide the operations behind it
    rate_limits=RateLimitSettings(
        submit_per_user=0, submit_per_ip=0, read_per_user=0, read_per_ip=0, auth_per_ip=0
    ),
    api=ApiSettings(sse_heartbeat_seconds=1),
)
APP = embedded_app(SETTINGS, FakeSandbox())
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)
schema.config.generation.update(max_examples=20)


@pytest.fixture(scope="module")
def sign_in() -> Callable[[str], str]:
    """Register (once) and sign in an account; returns a fresh access token."""
    registered: set[str] = set()

    def login(username: str) -> str:
        with asgi.get_client(cast(Any, APP)) as client:
            if username not in registered:
                body = {"username": username, "password": PASSWORD}
                created = client.post("/api/v1/auth/register", json=body)
                assert created.status_code == 201, created.text
                registered.add(username)
            response = client.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            token: str = response.json()["access_token"]
            return token

    return login


@pytest.fixture(scope="module")
def token(sign_in: Callable[[str], str]) -> str:
    return sign_in("fuzzer")


@schema.parametrize()
def test_no_input_makes_the_server_fail(
    case: schemathesis.Case[Any], token: str, sign_in: Callable[[str], str]
) -> None:
    # Signing out ends every session of the account, so it uses an account of its own.
    own = sign_in("fuzzer-out") if case.path.endswith("/logout") else token
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {own}"},
        checks=[not_a_server_error],
        timeout=10,
    )
    if not case.path.endswith("/login"):  # the run really is signed in
        assert response.status_code != 401, response.text
