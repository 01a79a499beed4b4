"""The in-pod entrypoint's compile phase and output files, run for real (host gcc, a real
folder) and read back by the pod monitor as in a cluster (issue 13)."""

import json
import shutil
import sys
from pathlib import Path

from sandpod.domain.result import EndReason
from sandpod.domain.status import ExecutionStatus
from tests.environment import unavailable
from tests.integration.test_k8s_entrypoint import Run, run_script

HELLO_C = """#include <stdio.h>
int main(void) {
    char name[32] = "";
    if (scanf("%31s", name) != 1) return 4;
    printf("hello %s\\n", name);
    return 0;
}
"""


def gcc() -> str:
    found = shutil.which("gcc")
    if found is None:
        unavailable("gcc is not installed (scripts/install-system-deps.sh installs it)")
    assert found is not None
    return found


async def compile_and_run(tmp_path: Path, source: str, stdin: bytes = b"ada\n") -> Run:
    (tmp_path / "main.c").write_text(source)
    build = tmp_path / "build"
    compiler = [gcc(), "-O1", "-o", str(build / "main"), str(tmp_path / "main.c")]
    options = [
        "--make-dir", str(build),
        "--compile", json.dumps(compiler),
        "--compile-wall-seconds", "30", "--compile-cpu-seconds", "20",
    ]  # fmt: skip
    return await run_script(
        tmp_path, "", stdin=stdin, command=[str(build / "main")], options=options
    )


async def test_the_compile_step_runs_first_then_the_program(tmp_path: Path) -> None:
    run = await compile_and_run(tmp_path, HELLO_C)
    result = run.event.result
    assert run.event.status is ExecutionStatus.COMPLETED, (result.message, result.stderr)
    assert result.stdout == "hello ada\n"
    assert result.compile is not None
    assert result.compile.exit_code == 0
    assert result.compile.wall_seconds > 0


async def test_a_compile_error_ends_as_compile_error_with_the_compilers_output(
    tmp_path: Path,
) -> None:
    run = await compile_and_run(tmp_path, "int main(void) { return nope; }\n")
    result = run.event.result
    assert run.event.status is ExecutionStatus.FAILED
    assert result.end_reason is EndReason.COMPILE_ERROR
    assert "nope" in result.stderr
    assert result.compile is not None
    assert result.compile.exit_code == 1
    assert "nope" in result.compile.output
    assert not (tmp_path / "build" / "main").exists()  # the program never ran


async def test_output_files_come_back_through_the_log_within_the_caps(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = (
        "import os\n"
        f"out = {str(out)!r}\n"
        "os.makedirs(out + '/sub')\n"
        "open(out + '/a.txt', 'w').write('alpha')\n"
        "open(out + '/sub/b.png', 'wb').write(b'\\x89PNG' + bytes(100))\n"
        "open(out + '/c.txt', 'w').write('third: over the count cap')\n"
        "os.symlink('/etc/passwd', out + '/0link')\n"
        "open(out + '/.hidden', 'w').write('bad name')\n"
    )
    options = [
        "--output-dir", str(out),
        "--output-files-max-count", "2", "--output-files-max-bytes", "4096",
    ]  # fmt: skip
    run = await run_script(
        tmp_path, script, command=[sys.executable, "-I", str(tmp_path / "main.py")], options=options
    )
    result = run.event.result
    assert run.event.status is ExecutionStatus.COMPLETED, (result.message, result.stderr)
    kept = {item.name: item for item in result.stored_files}
    assert set(kept) == {"a.txt", "c.txt"}  # sorted walk: a.txt, c.txt, then sub/ is over the cap
    assert kept["a.txt"].data == b"alpha"
    assert kept["a.txt"].content_type == "text/plain"
    assert result.files_truncated
    assert [item.name for item in result.files] == ["a.txt", "c.txt"]
