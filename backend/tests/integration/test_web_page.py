"""The web page in headless Chromium against a real server; no request of it leaves 127.0.0.1.

Each test starts `sandpod` on a free loopback port (the real local sandbox runs the scripts) and
runs frontend/e2e/web.e2e.mjs: playwright-core driving Debian's Chromium through sign-in (or none
when auth is off), hello world, a failing script, a cancel, keyboard-only Run, history, saved
scripts, the dark theme and the API's 422/429/503 details, with an axe-core scan per page, no
Content-Security-Policy violation, and screenshots in artifacts/web/. Then Chromium's net log
must show that every request of the page went to 127.0.0.1.

`make test` builds the page and installs the node packages first (make web-build); CI installs
chromium and node, so there a missing one fails instead of skipping.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from pydantic import SecretStr

from sandpod.config import GROUPS, Settings, SettingsGroup, variables
from sandpod.web import STATIC_DIR
from tests import environment, isolation
from tests.chromium import chromium_executable, is_local, made_by_the_site, net_log_requests
from tests.fixtures.throwaway import Server, free_port
from tests.waiting import eventually_sync

ROOT = Path(__file__).resolve().parents[3]
FRONTEND = ROOT / "frontend"
SUITE = FRONTEND / "e2e" / "web.e2e.mjs"
ARTIFACTS = ROOT / "artifacts" / "web"
SANDPOD = Path(sys.executable).with_name("sandpod")
PASSWORD = "a long web passphrase 42"
ACCOUNTS = {
    "SANDPOD_AUTH_REQUIRED": "true",
    "SANDPOD_JWT_SECRET": "web-page-test-secret-" + "x" * 32,
    "SANDPOD_ADMIN_USERNAME": "root",
    "SANDPOD_ADMIN_PASSWORD": "admin passphrase for the web test",
    # cheap hashing keeps the suite fast; production uses the defaults
    "SANDPOD_PASSWORD_HASH_MEMORY_KIB": "1024",
    "SANDPOD_PASSWORD_HASH_TIME_COST": "1",
    # a few sign-in attempts, so wrong passwords reach the real 429
    "SANDPOD_RATE_LIMIT_AUTH_PER_IP": "6",
}


def node_and_browser() -> tuple[str, str]:
    node = shutil.which("node")
    if node is None:
        environment.unavailable("node is not installed: install Node.js 20+ (Debian: nodejs)")
    if not (FRONTEND / "node_modules" / "playwright-core").is_dir():
        environment.unavailable("the frontend's packages are missing: run `make web-install`")
    if not (STATIC_DIR / "index.html").is_file():
        environment.unavailable("the web page is not built: run `make web-build`")
    return node, chromium_executable()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def sandpod(tmp_path: Path, command: str, env: dict[str, str | None]) -> Iterator[str]:
    """`sandpod <command>` on a free loopback port; its base URL once it answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environ = {**os.environ, "SANDPOD_HOST": "127.0.0.1", "SANDPOD_PORT": str(port)}
    for name, value in env.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    log_path = tmp_path / f"sandpod-{command}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(SANDPOD), command], env=environ, stdout=log, stderr=subprocess.STDOUT
        )
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"sandpod {command} exited:\n{log_path.read_text()[-3000:]}")
            return answers(f"{base}/api/v1/health/live")

        eventually_sync(ready, timeout=60, interval=0.1, what=f"sandpod {command} to answer")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def run_suite(base: str, mode: str, tmp_path: Path) -> str:
    node, chromium = node_and_browser()
    net_log = tmp_path / "net-log.json"
    finished = subprocess.run(
        [node, str(SUITE)],
        cwd=FRONTEND,
        env={
            **os.environ,
            "SANDPOD_URL": base,
            "WEB_MODE": mode,
            "WEB_ARTIFACTS": str(ARTIFACTS),
            "WEB_PASSWORD": PASSWORD,
            "CHROMIUM": chromium,
            "NET_LOG": str(net_log),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, f"the browser suite ({mode}) failed:\n{output}"
    requests = net_log_requests(net_log)
    from_page = [request for request in requests if made_by_the_site(request)]
    assert any(request["url"].startswith(f"{base}/assets/") for request in from_page), (
        "the net log misses the page's own assets: it is not recording the page's requests"
    )
    leaked = sorted({request["url"] for request in from_page if not is_local(request["url"])})
    assert not leaked, f"the page made requests outside 127.0.0.1: {leaked}"
    return output


def test_page_with_accounts_on(tmp_path: Path) -> None:
    with sandpod(tmp_path, "run", {**ACCOUNTS}) as base:
        output = run_suite(base, "accounts", tmp_path)
    assert "ok  the sign-in page comes first" in output
    assert "ok  after signing out, wrong passwords end in the API's 429 detail" in output
    for name in ("signin", "editor", "history", "scripts", "editor-dark", "error-422", "error-429"):
        assert (ARTIFACTS / f"accounts-{name}.png").stat().st_size > 0


def test_page_with_auth_off_on_loopback(tmp_path: Path) -> None:
    with sandpod(tmp_path, "run", {"SANDPOD_AUTH_REQUIRED": None}) as base:
        output = run_suite(base, "open", tmp_path)
    assert "ok  with auth off there is no sign-in, only the editor" in output
    assert (ARTIFACTS / "open-editor.png").stat().st_size > 0


def settings_env(settings: Settings) -> dict[str, str | None]:
    """The environment variables that give a process the fields set explicitly in `settings`."""
    env: dict[str, str | None] = {}
    for variable, (model, field) in variables().items():
        holder: SettingsGroup = settings
        if model is not Settings:
            holder = next(
                getattr(settings, name) for name, group in GROUPS.items() if group is model
            )
        if field not in holder.model_fields_set:
            continue
        value = getattr(holder, field)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[variable] = str(getattr(value, "value", value))
    return env


def test_a_503_during_an_outage_shows_its_detail(
    tmp_path: Path, redis_server: tuple[Server, str]
) -> None:
    """The distributed API with its own Redis, which then dies: the page says so, not blank."""
    redis, redis_url = redis_server
    isolated = isolation.isolated_settings(unique=True, redis={"url": redis_url})
    env = {**ACCOUNTS, **settings_env(isolated)}
    with sandpod(tmp_path, "api", env) as base:
        redis.kill()
        eventually_sync(
            lambda: not answers(f"{base}/api/v1/health/ready"), what="readiness to fail"
        )
        output = run_suite(base, "outage", tmp_path)
    assert "ok  a 503 from an outage shows its detail" in output
    assert (ARTIFACTS / "outage-error-503.png").stat().st_size > 0
