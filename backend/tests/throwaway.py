"""Throwaway Redis, FerretDB and Kafka servers for outage tests, on free ports.

Outage tests kill and restart servers; doing that to the shared servers (`make services-up`) would
break every other xdist worker, so each test gets its own: `redis_server`, `ferretdb_server` and
`kafka_broker` are pytest fixtures (tests/integration/conftest.py makes them available there).
A restarted server comes back on the same port with the same data.
"""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pymongo
import pytest
import pytest_asyncio
import redis
from pymongo.errors import PyMongoError

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "scripts" / "services" / "services.sh"
START_SERVICES = "run `make services-up`, which installs it"
READY_SECONDS = 30.0  # how long a (re)started server may take to answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """A server process we own: start, wait until it answers, kill it (no clean shutdown)."""

    def __init__(self, argv: list[str], ready: Callable[[], bool], log: Path) -> None:
        self._argv = argv
        self._ready = ready
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                self._argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + READY_SECONDS
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                tail = self._log.read_text(errors="replace")[-2000:]
                pytest.fail(f"{self._argv[0]} did not start:\n{tail}", False)
            time.sleep(0.1)  # poll interval, bounded by the deadline above

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)
        self._process = None

    # The same API as ThrowawayBroker, for tests that take any of them.
    async def stop_async(self) -> None:
        self.kill()

    async def start_async(self) -> None:
        await asyncio.to_thread(self.start)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A Redis of this test's own (no persistence) and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(f"redis-server is not installed: {START_SERVICES}", False)
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"

    def ready() -> bool:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    folder = tmp_path / "redis"
    folder.mkdir()
    server = Server([*argv, "--dir", str(folder)], ready, folder / "redis.log")
    server.start()
    yield server, url
    server.kill()


def ferretdb_binary() -> Path:
    """The FerretDB that scripts/services/mongo.sh built (its cache, or the running service's)."""
    candidates: list[Path] = []
    if explicit := os.environ.get("SANDPOD_FERRETDB_BIN"):
        candidates.append(Path(explicit))
    for cache in (os.environ.get("SANDPOD_CACHE"), Path.home() / ".cache" / "sandpod"):
        if cache:
            candidates += sorted(Path(cache).glob("ferretdb/*/bin/ferretdb"), reverse=True)
    services = Path(os.environ.get("SANDPOD_SERVICES_DIR", REPO / ".services"))
    pidfile = services / "mongo" / "mongo.pid"
    if pidfile.is_file():
        candidates.append(Path(f"/proc/{pidfile.read_text().strip()}/exe"))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    pytest.fail(f"no FerretDB binary found (looked at {candidates}): {START_SERVICES}", False)


@pytest.fixture
def ferretdb_server(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A FerretDB of this test's own (SQLite files kept across restarts) and its URL."""
    port, debug_port = free_port(), free_port()
    url = f"mongodb://127.0.0.1:{port}"
    folder = tmp_path / "ferretdb"
    (folder / "data").mkdir(parents=True)

    def ready() -> bool:
        client: pymongo.MongoClient[dict[str, object]]
        client = pymongo.MongoClient(url, serverSelectionTimeoutMS=500)
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    argv = [
        str(ferretdb_binary()),
        "--handler=sqlite",
        f"--sqlite-url=file:{folder / 'data'}/",
        f"--listen-addr=127.0.0.1:{port}",
        f"--debug-addr=127.0.0.1:{debug_port}",
        f"--state-dir={folder}",
        "--telemetry=disable",
        "--log-level=warn",
    ]
    server = Server(argv, ready, folder / "ferretdb.log")
    server.start()
    yield server, url
    server.kill()


class ThrowawayBroker:
    """A Kafka of this test's own, run by scripts/services with other ports and data folder."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.env = {
            "SANDPOD_SERVICES_DIR": str(folder),
            "SANDPOD_KAFKA_PORT": str(self.port),
            "SANDPOD_KAFKA_CONTROLLER_PORT": str(free_port()),
        }

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def services(self, command: str) -> None:
        process = await asyncio.create_subprocess_exec(
            "bash",
            str(SERVICES),
            command,
            "kafka",
            env={**os.environ, **self.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        assert process.returncode == 0, f"services.sh {command} kafka failed:\n{output.decode()}"

    async def stop_async(self) -> None:
        await self.services("down")

    async def start_async(self) -> None:
        await self.services("up")


@pytest_asyncio.fixture
async def kafka_broker(tmp_path: Path) -> AsyncIterator[ThrowawayBroker]:
    throwaway = ThrowawayBroker(tmp_path / "services")
    await throwaway.services("up")
    try:
        yield throwaway
    finally:
        await throwaway.services("down")
