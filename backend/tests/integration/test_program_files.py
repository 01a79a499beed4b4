"""Files in, arguments, compiler options and files out, through the real local runner."""

import base64
import dataclasses
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.composition.embedded import embedded_app
from sandpod.config import LocalRunnerSettings, Settings
from sandpod.domain.files import SourceFile
from sandpod.domain.result import EndReason
from sandpod.domain.runtimes import runtime
from tests.environment import unavailable
from tests.fixtures.sandbox import SANDBOX_CGROUP_PARENT, SandboxJobs, left_behind
from tests.waiting import eventually

URL = "/api/v1/executions"
OPTIONS = ("-O0", "-DGREETING=hi")


def files(named: dict[str, str]) -> tuple[SourceFile, ...]:
    return tuple(SourceFile(name=name, content=text) for name, text in named.items())


async def test_a_python_program_of_several_files_with_arguments(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    job = sandbox_jobs("", stdin="in")
    program = files(
        {
            "main.py": "import sys\nfrom helpers.greet import greet\nprint(greet(sys.argv[1:]))\n",
            "helpers/greet.py": "def greet(names):\n    return 'hello ' + ' & '.join(names)\n",
            "data.txt": "some data\n",
        }
    )
    job = dataclasses.replace(
        job, files=program, entrypoint="main.py", args=("ada", "grace hopper")
    )
    result = await sandbox_runner.run(job)
    assert result.end_reason is EndReason.COMPLETED, result
    assert result.stdout == "hello ada & grace hopper\n"


async def test_files_left_in_the_output_folder_are_kept(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = (
        "import os\n"
        "open('/tmp/out/report.txt', 'w').write('done\\n')\n"
        "os.makedirs('/tmp/out/raw')\n"
        "open('/tmp/out/raw/data.bin', 'wb').write(bytes(range(256)))\n"
        "open('/tmp/scratch.txt', 'w').write('not kept')\n"
    )
    result = await sandbox_runner.run(sandbox_jobs(script))
    assert result.end_reason is EndReason.COMPLETED, result
    assert [(f.name, f.size, f.content_type) for f in result.files] == [
        ("report.txt", 5, "text/plain"),
        ("raw/data.bin", 256, "application/octet-stream"),
    ]
    assert not result.files_truncated
    data = {item.name: item.data for item in result.stored_files}
    assert data == {"report.txt": b"done\n", "raw/data.bin": bytes(range(256))}


@pytest.fixture
async def capped_runner(
    sandbox_host: object, tmp_path: Path, sandbox_jobs: SandboxJobs
) -> AsyncIterator[LocalSandboxRunner]:
    # Needs sandbox_jobs only to be closed before it: that fixture then finds no cgroups left.
    root = tmp_path / "capped"  # not sandbox_runner's: each runner's close() empties its own
    runner = LocalSandboxRunner(
        LocalRunnerSettings(
            sandbox_root=root,
            cgroup_parent=SANDBOX_CGROUP_PARENT,
            output_files_max_count=3,
            output_files_max_bytes=1000,
            warm_pool_size=0,
        )
    )
    yield runner
    await runner.close()
    assert left_behind(root) == [], "sandbox folders left behind"


async def test_over_the_caps_files_are_truncated_never_an_error(
    capped_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    script = (
        "for i in range(10):\n"
        "    open(f'/tmp/out/f{i}.txt', 'w').write('x' * 100)\n"
        "open('/tmp/out/big.txt', 'w').write('y' * 5000)\n"
    )
    result = await capped_runner.run(sandbox_jobs(script))
    assert result.end_reason is EndReason.COMPLETED, result
    assert result.files_truncated
    assert [f.name for f in result.files] == ["f0.txt", "f1.txt", "f2.txt"]  # big.txt too big


async def test_links_and_special_files_in_the_output_folder_are_not_read(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    # The runner reads the folder as root after the run: a link must never make it read a host
    # file, and a FIFO must not block it.
    script = (
        "import os\n"
        "os.symlink('/etc/shadow', '/tmp/out/shadow')\n"
        "os.symlink('/etc', '/tmp/out/etc')\n"
        "os.mkfifo('/tmp/out/pipe')\n"
        "open('/tmp/out/ok.txt', 'w').write('ok')\n"
    )
    result = await sandbox_runner.run(sandbox_jobs(script))
    assert result.end_reason is EndReason.COMPLETED, result
    assert [f.name for f in result.files] == ["ok.txt"]
    assert result.files_truncated
    assert [item.data for item in result.stored_files] == [b"ok"]


async def test_a_c_program_of_several_files_with_allowed_options(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    c = runtime("c:gcc-12")
    if c.id not in {r.id for r in sandbox_runner.runtimes()}:
        unavailable("gcc is not installed here")
    job = sandbox_jobs("", runtime=c)
    assert c.compile is not None
    assert all(c.compile.allows(option) for option in OPTIONS)
    program = files(
        {
            "main.c": '#include <stdio.h>\n#include "util.h"\n'
            "#define STR2(x) #x\n#define STR(x) STR2(x)\n"
            'int main(int argc, char **argv) { printf("%s %d %s\\n", STR(GREETING), twice(argc), '
            "argv[1]); return 0; }\n",
            "util.c": '#include "util.h"\nint twice(int n) { return 2 * n; }\n',
            "util.h": "int twice(int n);\n",
        }
    )
    job = dataclasses.replace(job, files=program, args=("arg",), compiler_options=OPTIONS)
    result = await sandbox_runner.run(job)
    assert result.end_reason is EndReason.COMPLETED, result
    assert result.stdout == "hi 4 arg\n"


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and raw scanlines of a PNG, checking every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
        if kind == b"IEND":
            break
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + width * channels * depth // 8), "scanlines do not fit"
    return width, height, raw


@pytest.fixture
async def api(sandbox_host: object, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        local_runner=LocalRunnerSettings(
            sandbox_root=tmp_path / "sandboxes", cgroup_parent=SANDBOX_CGROUP_PARENT
        )
    )
    app = embedded_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def finished(http: httpx.AsyncClient, execution_id: str) -> dict[str, object]:
    async def done() -> bool:
        status = (await http.get(f"{URL}/{execution_id}")).json()["status"]
        return status not in ("queued", "running")

    await eventually(done, timeout=120, what=f"{execution_id} to finish")
    body: dict[str, object] = (await http.get(f"{URL}/{execution_id}")).json()
    return body


async def test_a_matplotlib_plot_comes_back_as_a_png(api: httpx.AsyncClient) -> None:
    available = {
        item["id"] for item in (await api.get("/api/v1/runtimes")).json() if item["available"]
    }
    if "python:3.12-data" not in available:
        unavailable("python:3.12-data is not prepared here (run `make toolchains`)")
    data = runtime("python:3.12-data")
    submitted = await api.post(URL, json={"runtime": data.id, "script": data.example})
    assert submitted.status_code == 202, submitted.text
    execution_id = submitted.json()["id"]
    body = await finished(api, execution_id)
    assert body["status"] == "completed", body
    listing = (await api.get(f"{URL}/{execution_id}/files")).json()
    assert [item["name"] for item in listing["files"]] == ["plot.png"]
    assert listing["truncated"] is False
    png = await api.get(f"{URL}/{execution_id}/files/plot.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.headers["x-content-type-options"] == "nosniff"
    width, height, _ = decode_png(png.content)
    assert (width, height) == (640, 480)  # matplotlib's default figure at 100 dpi
    missing = await api.get(f"{URL}/{execution_id}/files/nope.png")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_files_submitted_as_base64_reach_the_program(api: httpx.AsyncClient) -> None:
    blob = bytes(range(256))
    body = {
        "runtime": "python:3.12",
        "files": [
            {
                "name": "main.py",
                "content": "import sys\n"
                "print(len(open('/sandbox/blob.bin', 'rb').read()), sys.argv[1])\n",
            },
            {"name": "blob.bin", "content": base64.b64encode(blob).decode(), "encoding": "base64"},
        ],
        "args": ["x"],
    }
    submitted = await api.post(URL, json=body)
    assert submitted.status_code == 202, submitted.text
    result = (await finished(api, submitted.json()["id"]))["result"]
    assert isinstance(result, dict)
    assert result["stdout"] == "256 x\n"
