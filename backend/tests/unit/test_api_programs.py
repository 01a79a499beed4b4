"""Files, entrypoint, args and compiler options at the API: bad input is a 422 naming the field,
and nothing is stored."""

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from sandpod.composition.embedded import embedded_app
from sandpod.config import ExecutionSettings, Settings
from sandpod.domain.result import Result
from sandpod.domain.runtimes import Runtime, python, runtime
from sandpod.ports import SandboxJob
from tests.fakes import FakeSandbox
from tests.waiting import eventually

URL = "/api/v1/executions"


class CompilingSandbox(FakeSandbox):
    """The fake sandbox, also offering C; it records the jobs it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[SandboxJob] = []

    def runtimes(self) -> list[Runtime]:
        return [python("3.12"), runtime("c:gcc-12")]

    async def run(self, job: SandboxJob) -> Result:
        self.jobs.append(job)
        return await super().run(job)


@pytest.fixture
def sandbox() -> CompilingSandbox:
    return CompilingSandbox()


@pytest.fixture
async def client(sandbox: CompilingSandbox) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(executions=ExecutionSettings(max_files=3, max_files_bytes=100, max_args=2))
    async with LifespanManager(embedded_app(settings, sandbox)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def c_program(**extra: Any) -> dict[str, Any]:
    return {
        "runtime": "c:gcc-12",
        "files": [{"name": "main.c", "content": "int main(){}"}],
        **extra,
    }


def py_files(*names: str, content: str = "x") -> dict[str, Any]:
    return {"runtime": "python:3.12", "files": [{"name": n, "content": content} for n in names]}


BAD = [
    (py_files("../etc/passwd"), "files.0.name", "'..' part"),
    (py_files("main.py", "/etc/shadow"), "files.1.name", "absolute path"),
    (py_files("main.py", "lib/./x.py"), "files.1.name", "'.' or '..' part"),
    (py_files("main.py", "NUL.txt"), "files.1.name", "device name"),
    (py_files("main.py", ".bashrc"), "files.1.name", "not starting with '.'"),
    (py_files("main.py", "MAIN.PY"), "files.1.name", "given twice"),
    (py_files("main.py", "a", "a/b.py"), "files", "both a file and a folder"),
    (py_files("a.py", "b.py", "c.py", "d.py"), "files", "4 files; the most accepted is 3"),
    (py_files("main.py", content="x" * 101), "files", "the most accepted is 100"),
    (py_files("a.py", "b.py"), "entrypoint", "say which file runs"),
    ({**py_files("main.py"), "entrypoint": "other.py"}, "entrypoint", "not one of the files"),
    ({**py_files("main.c"), "entrypoint": "main.c"}, "entrypoint", "runs a .py file"),
    ({"runtime": "python:3.12", "script": "x", "entrypoint": "x.py"}, "entrypoint", "none were"),
    ({"runtime": "python:3.12"}, "script", "either `script` or `files`"),
    ({**py_files("main.py"), "script": "x"}, "script", "not both"),
    ({"runtime": "python:3.12", "files": []}, "files", "at least one file"),
    (
        {"runtime": "python:3.12", "files": [{"name": "b", "content": "%", "encoding": "base64"}]},
        "files.0.content",
        "not valid base64",
    ),
    ({"runtime": "python:3.12", "script": "x", "args": ["a", "b", "c"]}, "args", "3 arguments"),
    ({"runtime": "python:3.12", "script": "x", "args": ["a\u0000b"]}, "args.0", "no NUL"),
    ({"runtime": "python:3.12", "script": "x", "compiler_options": ["-O2"]}, "compiler_options",
     "no compile step"),
    (c_program(compiler_options=["-O2", "-fplugin=/tmp/evil.so"]), "compiler_options.1",
     "'-fplugin=/tmp/evil.so' is not an allowed option"),
    (c_program(compiler_options=["-B/tmp"]), "compiler_options.0", "not an allowed option"),
    (c_program(compiler_options=["-Wl,-rpath=/tmp"]), "compiler_options.0", "not an allowed"),
    (c_program(compiler_options=["@/etc/shadow"]), "compiler_options.0", "not an allowed option"),
    ({"runtime": "cobol:85", "script": "x"}, None, "unknown runtime 'cobol:85'"),
    ({"runtime": "java:17", "script": "x"}, None, "in the catalogue but this deployment"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field", "fragment"), BAD)
async def test_bad_programs_are_a_422_naming_the_field_and_nothing_is_stored(
    client: httpx.AsyncClient, body: dict[str, Any], field: str | None, fragment: str
) -> None:
    response = await client.post(URL, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert fragment in problem["detail"]
    if field is not None:
        assert problem["errors"] == [{"field": field, "message": problem["detail"]}]
        assert problem["detail"].startswith(f"{field}: ")
    assert (await client.get(URL)).json()["items"] == []


async def test_a_program_of_files_reaches_the_sandbox_as_sent(
    client: httpx.AsyncClient, sandbox: CompilingSandbox
) -> None:
    body = {
        "runtime": "c:gcc-12",
        "files": [
            {"name": "src/util.c", "content": "int two(void) { return 2; }"},
            {"name": "prog.c", "content": "int main(void) { return 0; }"},
            {
                "name": "blob.bin",
                "content": base64.b64encode(b"\0\1").decode(),
                "encoding": "base64",
            },
        ],
        "entrypoint": "prog.c",
        "args": ["-v", "two words"],
        "compiler_options": ["-O0", "-Wall"],
    }
    response = await client.post(URL, json=body)
    assert response.status_code == 202, response.text
    stored = (await client.get(f"{URL}/{response.json()['id']}")).json()
    assert stored["runtime"] == "c:gcc-12"
    assert stored["limits"]["memory_mb"] == 128  # the server default: C sets none of its own
    await eventually(lambda: bool(sandbox.jobs), timeout=10, what="the job to reach the sandbox")
    [job] = sandbox.jobs
    assert [f.name for f in job.files] == ["src/util.c", "prog.c", "blob.bin"]
    assert job.files[2].data() == b"\0\1"
    assert (job.entrypoint, job.args, job.compiler_options) == (
        "prog.c",
        ("-v", "two words"),
        ("-O0", "-Wall"),
    )
    assert job.script == "int main(void) { return 0; }"
