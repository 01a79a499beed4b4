"""`sandpod login --api-key-stdin`, then `sandpod submit`, against a real embedded server on
loopback (uvicorn in a thread, the real local sandbox)."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.composition.embedded import embedded_app
from sandpod.entrypoints import cli
from sandpod.entrypoints.credentials import load_token
from tests.fixtures.apps import served
from tests.integration.stacks import ADMIN, API, base_settings

pytestmark = pytest.mark.slow


@pytest.fixture
def server(sandbox_runner: LocalSandboxRunner) -> Iterator[str]:
    with served(embedded_app(base_settings("embedded"), sandbox_runner), "cli-key-server") as url:
        yield url


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SANDPOD_TOKEN", raising=False)
    return tmp_path


def new_key(url: str, scopes: list[str]) -> str:
    with httpx.Client(base_url=url, timeout=30) as http:
        login = http.post(f"{API}/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        token = login.json()["access_token"]
        created = http.post(
            f"{API}/auth/keys",
            json={"name": "cli", "scopes": scopes},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text
        key: str = created.json()["key"]
        return key


def test_the_cli_signs_in_with_a_key_and_submits_with_it(server: str, tmp_path: Path) -> None:
    key = new_key(server, ["executions:read", "executions:write"])
    runner = CliRunner()
    login = runner.invoke(cli.main, ["login", "--url", server, "--api-key-stdin"], input=f"{key}\n")
    assert login.exit_code == 0, login.output
    assert f"as {ADMIN[0]}" in login.output
    assert load_token(server) == key
    script = tmp_path / "hello.py"
    script.write_text("print('via key')\n")
    submitted = runner.invoke(cli.main, ["submit", str(script), "--url", server])
    assert submitted.exit_code == 0, submitted.output
    assert "via key" in submitted.output
    out = runner.invoke(cli.main, ["logout", "--url", server])
    assert out.exit_code == 0
    assert "works until revoked" in out.output
    assert load_token(server) is None


def test_a_key_that_does_not_work_is_not_stored(server: str) -> None:
    result = CliRunner().invoke(
        cli.main, ["login", "--url", server, "--api-key-stdin"], input="spk_made_up\n"
    )
    assert result.exit_code == 1
    assert "not valid" in result.output
    assert load_token(server) is None
