"""The `sandpod` command: run the server or a worker, submit a script, print the OpenAPI spec."""

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import click
import httpx

from sandpod import __version__

DEFAULT_URL = "http://127.0.0.1:8000"


def _settings(**overrides: Any) -> Any:
    from sandpod.config import Settings

    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def _fail(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


@click.group()
@click.version_option(__version__, prog_name="sandpod")
def main() -> None:
    """sandpod: run untrusted scripts in isolated sandboxes with hard limits."""


@main.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to bind (default 8000).")
def run(host: str | None, port: int | None) -> None:
    """Run the embedded server: API, local sandbox runner and result processing in one process."""
    from sandpod.composition.embedded import build_embedded
    from sandpod.composition.errors import StartupError
    from sandpod.config import Mode

    settings = _settings(host=host, port=port, mode=Mode.EMBEDDED)
    _observe(settings, "sandpod")
    try:
        embedded = build_embedded(settings)
    except StartupError as error:
        _fail(str(error))
    url = f"http://{settings.host}:{settings.port}"
    click.echo(
        f"sandpod (embedded) on {url}; runtimes: {', '.join(embedded.runtimes.ids())}\n"
        f"  web page:         {url}/\n"
        f"  submit a script:  uv run sandpod submit hello.py --wait   (from backend/)\n"
        f"  or over HTTP:     curl -s {url}/api/v1/executions -H 'content-type: application/json' "
        '-d \'{"runtime": "python:3.12", "script": "print(42)"}\'\n'
        f"  API docs:         {url}/api/v1/docs",
        err=True,
    )
    if embedded.accounts is not None:
        click.echo(
            f"  accounts are on:  uv run sandpod login --url {url}   (then submit as above; "
            "over HTTP send 'Authorization: Bearer <token>')",
            err=True,
        )
    _serve(embedded.serving, settings)


@main.command()
def api() -> None:
    """Run the API process in the configured mode (SANDPOD_MODE)."""
    from sandpod.composition.api import api_states
    from sandpod.composition.errors import StartupError

    settings = _settings()
    _observe(settings, "sandpod-api")
    try:
        states = api_states(settings)
    except StartupError as error:
        _fail(str(error))
    _serve(states, settings)


def _observe(settings: Any, service: str) -> None:
    from sandpod.logs import configure_logging
    from sandpod.observability import configure_telemetry

    configure_logging(settings.log_level, as_json=settings.log_json)
    configure_telemetry(service, settings.otlp_endpoint)


def _serve(states: Any, settings: Any) -> None:
    """Open the API's state first (one error line when a dependency is missing), then serve."""
    import uvicorn

    from sandpod.api.app import create_app
    from sandpod.composition.errors import StartupError

    async def serve() -> None:
        async with states() as state:

            @contextlib.asynccontextmanager
            async def opened() -> AsyncIterator[Any]:
                yield state

            app = create_app(opened, max_request_bytes=settings.api.max_request_bytes)
            config = uvicorn.Config(
                app, host=settings.host, port=settings.port, log_level="warning"
            )
            await uvicorn.Server(config).serve()

    try:
        asyncio.run(serve())
    except StartupError as error:
        _fail(str(error))


@main.command()
@click.argument("name")
def worker(name: str) -> None:
    """Run the worker NAME (runner, results, pod-monitor or webhooks) in distributed mode."""
    from sandpod.composition.errors import StartupError, WorkerStoppedError
    from sandpod.entrypoints.worker_main import run_worker

    settings = _settings()
    _observe(settings, f"sandpod-{name}")
    try:
        asyncio.run(run_worker(name, settings))
    except (StartupError, WorkerStoppedError) as error:
        _fail(str(error))


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def openapi(output: Path | None) -> None:
    """Print the OpenAPI spec the app produces (no server, no network)."""
    from sandpod.api.app import create_app

    spec = json.dumps(create_app().openapi(), indent=2, sort_keys=False) + "\n"
    if output is None:
        click.echo(spec, nl=False)
    else:
        output.write_text(spec)


@main.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--runtime", "-r", default="python:3.12", show_default=True)
@click.option("--stdin", "stdin_file", type=click.File("r", encoding="utf-8"), default=None)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow it to the end.")
@click.option("--url", envvar="SANDPOD_URL", default=DEFAULT_URL, show_default=True)
@click.option("--idempotency-key", default=None, help="Make retries of this submit safe.")
@click.option(
    "--with",
    "extra_files",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Another file of the program, sent beside FILE under its own name (repeatable).",
)
@click.option("--arg", "args", multiple=True, help="A command-line argument (repeatable).")
@click.option("--callback-url", default=None, help="POST the finished execution here, signed.")
@click.option(
    "--token",
    envvar="SANDPOD_TOKEN",
    default=None,
    help="Access token (default: the one `sandpod login` stored for --url).",
)
def submit(
    file: Any,
    runtime: str,
    stdin_file: Any,
    wait: bool,
    url: str,
    idempotency_key: str | None,
    extra_files: tuple[Path, ...],
    args: tuple[str, ...],
    callback_url: str | None,
    token: str | None,
) -> None:
    """Submit FILE; with --wait, follow it live, print its output, exit with its exit code."""
    from sandpod.entrypoints.client import SubmitFailedError, submit_and_follow
    from sandpod.entrypoints.credentials import load_token

    body: dict[str, Any] = {"runtime": runtime, "stdin": stdin_file.read() if stdin_file else ""}
    if extra_files:
        entrypoint = Path(file.name).name
        body["files"] = [{"name": entrypoint, "content": file.read()}] + [
            {"name": extra.name, "content": extra.read_text(encoding="utf-8")}
            for extra in extra_files
        ]
        body["entrypoint"] = entrypoint
    else:
        body["script"] = file.read()
    if args:
        body["args"] = list(args)
    if callback_url is not None:
        body["callback_url"] = callback_url
    try:
        code = submit_and_follow(
            url,
            body,
            wait=wait,
            idempotency_key=idempotency_key,
            token=token or load_token(url),
        )
    except SubmitFailedError as error:
        _fail(str(error))
    except httpx.HTTPError as error:
        _fail(f"cannot reach sandpod at {url}: {error}")
    sys.exit(code)


@main.command()
@click.option("--url", envvar="SANDPOD_URL", default=DEFAULT_URL, show_default=True)
@click.option("--username", "-u", default=None, help="Account name (prompted when omitted).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of a prompt.",
)
@click.option(
    "--api-key-stdin",
    is_flag=True,
    help="Store an API key (spk_..., from POST /api/v1/auth/keys) read from the first line of "
    "standard input instead of signing in with a password.",
)
def login(url: str, username: str | None, password_stdin: bool, api_key_stdin: bool) -> None:
    """Sign in (or check an API key) and store the credential for URL in
    ~/.config/sandpod/credentials.json."""
    from sandpod.entrypoints.client import SubmitFailedError, whoami
    from sandpod.entrypoints.client import login as sign_in
    from sandpod.entrypoints.credentials import save_token

    try:
        if api_key_stdin:
            token = sys.stdin.readline().strip()
            name = whoami(url, token)  # a key that does not work is never stored
        else:
            name = username or str(click.prompt("Username"))
            if password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
            else:
                password = click.prompt("Password", hide_input=True)
            token = sign_in(url, name, password)
    except SubmitFailedError as error:
        _fail(str(error))
    except httpx.HTTPError as error:
        _fail(f"cannot reach sandpod at {url}: {error}")
    path = save_token(url, token, name)
    what = "API key" if api_key_stdin else "token"
    click.echo(f"signed in to {url} as {name}; {what} stored in {path}", err=True)


@main.command()
@click.option("--url", envvar="SANDPOD_URL", default=DEFAULT_URL, show_default=True)
def logout(url: str) -> None:
    """End the session on the server and forget the stored token for URL."""
    from sandpod.domain.api_keys import KEY_PREFIX
    from sandpod.entrypoints.client import SubmitFailedError
    from sandpod.entrypoints.client import logout as sign_out
    from sandpod.entrypoints.credentials import forget_token, load_token

    token = load_token(url)
    if token is None:
        click.echo(f"not signed in to {url}", err=True)
        return
    if token.startswith(KEY_PREFIX):
        forget_token(url)
        click.echo(f"forgot the API key for {url} (it works until revoked)", err=True)
        return
    try:
        sign_out(url, token)
    except (SubmitFailedError, httpx.HTTPError) as error:
        click.secho(f"warning: the server did not end the session: {error}", fg="yellow", err=True)
    forget_token(url)
    click.echo(f"signed out of {url}", err=True)


if __name__ == "__main__":  # after every command is defined (`python -m sandpod.entrypoints.cli`)
    main()
