"""`sandpod login/logout/submit` and the stored token file."""

import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sandpod.entrypoints import cli, client
from sandpod.entrypoints.credentials import credentials_path, forget_token, load_token, save_token


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SANDPOD_URL", raising=False)
    monkeypatch.delenv("SANDPOD_TOKEN", raising=False)
    return tmp_path


def test_tokens_are_kept_per_url_in_a_private_file(config_home: Path) -> None:
    path = save_token("http://a:8000/", "t-a", "ada")
    save_token("http://b:8000", "t-b", "bob")
    assert path == config_home / "sandpod" / "credentials.json" == credentials_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_token("http://a:8000") == "t-a"
    assert load_token("http://b:8000/") == "t-b"
    assert load_token("http://c:8000") is None
    assert forget_token("http://a:8000")
    assert load_token("http://a:8000") is None
    assert not forget_token("http://a:8000")
    assert forget_token("http://b:8000")
    assert not path.exists()


def test_a_broken_file_reads_as_no_tokens(config_home: Path) -> None:
    path = config_home / "sandpod" / "credentials.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert load_token("http://a") is None


def test_login_prompts_stores_and_submit_sends_the_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def fake_login(url: str, username: str, password: str) -> str:
        seen["login"] = (url, username, password)
        return "tok-1"

    def fake_submit(url: str, body: dict[str, Any], **options: Any) -> int:
        seen["submit"] = options["token"]
        return 0

    monkeypatch.setattr(client, "login", fake_login)
    monkeypatch.setattr(client, "submit_and_follow", fake_submit)
    runner = CliRunner()
    result = runner.invoke(
        cli.main, ["login", "--url", "http://h:1", "-u", "ada"], input="secret pass\n"
    )
    assert result.exit_code == 0, result.output
    assert seen["login"] == ("http://h:1", "ada", "secret pass")
    assert load_token("http://h:1") == "tok-1"

    script = tmp_path / "x.py"
    script.write_text("print(1)")
    result = runner.invoke(cli.main, ["submit", str(script), "--url", "http://h:1"])
    assert result.exit_code == 0, result.output
    assert seen["submit"] == "tok-1"


def test_login_reads_the_password_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    passwords: list[str] = []

    def fake_login(url: str, username: str, password: str) -> str:
        passwords.append(password)
        return "t"

    monkeypatch.setattr(client, "login", fake_login)
    result = CliRunner().invoke(
        cli.main, ["login", "-u", "ada", "--password-stdin"], input="from stdin\nignored\n"
    )
    assert result.exit_code == 0, result.output
    assert passwords == ["from stdin"]


def test_a_refused_login_stores_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url: str, username: str, password: str) -> str:
        raise client.SubmitFailedError("401: invalid username or password")

    monkeypatch.setattr(client, "login", refuse)
    result = CliRunner().invoke(cli.main, ["login", "-u", "ada", "--password-stdin"], input="x\n")
    assert result.exit_code == 1
    assert "invalid username or password" in result.output
    assert load_token(cli.DEFAULT_URL) is None


def test_logout_forgets_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    ended: list[str] = []
    monkeypatch.setattr(client, "logout", lambda url, token: ended.append(token))
    save_token(cli.DEFAULT_URL, "tok-2", "ada")
    result = CliRunner().invoke(cli.main, ["logout"])
    assert result.exit_code == 0, result.output
    assert ended == ["tok-2"]
    assert load_token(cli.DEFAULT_URL) is None
