"""`sandpod submit --wait` against a real embedded server on loopback (the real local sandbox):
it follows the event stream, prints the output once, and reads nothing after the terminal event."""

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi import Request, Response

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.composition.embedded import embedded_app
from sandpod.entrypoints import cli
from tests.fixtures.apps import served
from tests.integration.stacks import ADMIN, API, base_settings

pytestmark = pytest.mark.slow

SCRIPT = (
    "import sys, time\n"
    "print('one', flush=True)\n"
    "time.sleep(0.3)\n"
    "print('two', flush=True)\n"
    "print('warn', file=sys.stderr)\n"
    "sys.exit(4)\n"
)


@pytest.fixture
def server(sandbox_runner: LocalSandboxRunner) -> Iterator[tuple[str, list[str]]]:
    """The server's URL and the requests it answered ("METHOD /path")."""
    app = embedded_app(base_settings("embedded"), sandbox_runner)
    answered: list[str] = []

    @app.middleware("http")
    async def record(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        answered.append(f"{request.method} {request.url.path}")
        return await call_next(request)

    with served(app, "cli-follow-server") as url:
        yield url, answered


def test_submit_wait_prints_the_output_once_and_reads_nothing_after_the_end(
    server: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, answered = server
    login = httpx.post(
        f"{url}{API}/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}, timeout=30
    )
    token = login.json()["access_token"]
    script = tmp_path / "lines.py"
    script.write_text(SCRIPT)
    answered.clear()

    result = CliRunner().invoke(cli.main, ["submit", str(script), "--url", url, "--token", token])

    assert result.exit_code == 4, result.output
    assert result.stdout == "one\ntwo\n"
    assert "warn\n" in result.stderr
    assert "failed (failed) exit=4" in result.stderr
    execution_id = result.stderr.split()[0]  # "<id> queued" comes first
    assert answered == [
        f"POST {API}/executions",
        f"GET {API}/executions/{execution_id}/events",
    ]


def signed_in_token(url: str) -> str:
    login = httpx.post(
        f"{url}{API}/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}, timeout=30
    )
    token: str = login.json()["access_token"]
    return token


def test_submit_sends_more_files_and_arguments(
    server: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, _ = server
    main = tmp_path / "main.py"
    main.write_text("import sys, helper\nprint(helper.shout(sys.argv[1:]))\n")
    helper = tmp_path / "helper.py"
    helper.write_text("def shout(words):\n    return ' '.join(words).upper()\n")

    connection = ["--url", url, "--token", signed_in_token(url)]
    program = ["--with", str(helper), "--arg", "hello", "--arg", "there"]

    result = CliRunner().invoke(cli.main, ["submit", str(main), *program, *connection])

    assert result.exit_code == 0, result.output
    assert result.stdout == "HELLO THERE\n"


def test_submit_sends_the_callback_url(server: tuple[str, list[str]], tmp_path: Path) -> None:
    url, _ = server
    script = tmp_path / "hello.py"
    script.write_text("print(1)\n")

    connection = ["--url", url, "--token", signed_in_token(url)]
    callback = ["--callback-url", "http://127.0.0.1:9/hook"]

    result = CliRunner().invoke(cli.main, ["submit", str(script), *callback, *connection])

    # The server judged it: a loopback callback is refused unless the operator allows it.
    assert result.exit_code != 0
    assert "callback_url" in result.stderr
