"""A real embedded sandpod server for the SDK's live tests: `sandpod run` from the backend's venv
(make install) in a subprocess on a free loopback port, with accounts on and scripts run in the
real local sandbox (bubblewrap). Nothing is faked: the SDK talks HTTP to it like to any server.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
# The backend of this checkout; SANDPOD_SDK_BACKEND_PYTHON runs the tests against another
# checkout's (its backend/.venv/bin/python), e.g. a branch with a newer API.
BACKEND_PYTHON = Path(
    os.environ.get("SANDPOD_SDK_BACKEND_PYTHON") or ROOT / "backend" / ".venv" / "bin" / "python"
)
ADMIN = ("root", "a long sdk-test admin password 7")
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Server:
    url: str
    admin: tuple[str, str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(port: int, overrides: Mapping[str, str]) -> dict[str, str]:
    keep = {name: value for name, value in os.environ.items() if not name.startswith("SANDPOD_")}
    return {
        **keep,
        "SANDPOD_HOST": "127.0.0.1",
        "SANDPOD_PORT": str(port),
        "SANDPOD_AUTH_REQUIRED": "true",
        "SANDPOD_JWT_SECRET": "sdk-test-secret-" + "x" * 32,
        "SANDPOD_ADMIN_USERNAME": ADMIN[0],
        "SANDPOD_ADMIN_PASSWORD": ADMIN[1],
        # Cheap hashing keeps sign-ins fast; a 1 s heartbeat keeps idle streams short.
        "SANDPOD_PASSWORD_HASH_MEMORY_KIB": "1024",
        "SANDPOD_PASSWORD_HASH_TIME_COST": "1",
        "SANDPOD_SSE_HEARTBEAT_SECONDS": "1",
        "SANDPOD_LOG_LEVEL": "WARNING",
        **overrides,
    }


def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sandpod exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/api/v1/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"sandpod was not ready in {STARTUP_SECONDS} s:\n{log.read_text()}")


@contextlib.contextmanager
def embedded_server(**overrides: str) -> Iterator[Server]:
    """`overrides`: more SANDPOD_* variables, e.g. SANDPOD_RATE_LIMIT_SUBMIT_PER_USER="2"."""
    if not BACKEND_PYTHON.exists():
        raise RuntimeError(f"{BACKEND_PYTHON} is missing: run `make install` first")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="sandpod-sdk-") as folder:
        log = Path(folder) / "server.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(BACKEND_PYTHON), "-m", "sandpod.entrypoints.cli", "run"],
                cwd=folder,  # no stray .env is read
                env=_environment(port, overrides),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                _ready(url, process, log)
                yield Server(url=url, admin=ADMIN)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if process.returncode not in (0, -15):
            sys.stderr.write(log.read_text())
