"""Runtimes through pods on a real cluster (issue 13): Python and C, each with hello/stdin, a
non-zero exit, files in (ConfigMap items), arguments and files out (/tmp/out, back through the
framed pod log); C's compile step runs in the pod under its own limits and a compile error ends
as `compile_error`; a compiler cannot read host files. The images come from
`scripts/images.sh runtimes 3.12` and `scripts/images.sh runtime c` (make cluster-images).
"""

import base64
import dataclasses

import pytest

from sandpod.domain.execution import new_execution_id
from sandpod.domain.files import SourceFile
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason
from sandpod.domain.runtimes import runtime
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import SandboxJob
from tests.cluster import Cluster
from tests.e2e.test_kubernetes_runner import run_job

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

C_HELLO = """#include <stdio.h>
int main(void) {
    char name[64] = "world";
    if (scanf("%63s", name) != 1) { return 3; }
    printf("hello %s from C\\n", name);
    return 0;
}
"""


def job(runtime_id: str, script: str, **fields: object) -> SandboxJob:
    return SandboxJob(
        execution_id=new_execution_id(),
        runtime=runtime(runtime_id),
        script=script,
        stdin=str(fields.pop("stdin", "e2e\n")),
        limits=DEFAULT_POLICY.defaults,
        **fields,  # type: ignore[arg-type]
    )


async def test_python_files_in_args_and_files_out(cluster: Cluster) -> None:
    main = (
        "import os, sys\n"
        "from lib.greet import greet\n"
        "os.makedirs('/tmp/out/plots', exist_ok=True)\n"
        "open('/tmp/out/report.txt', 'w').write(greet(sys.argv[1]))\n"
        "open('/tmp/out/plots/raw.png', 'wb').write(bytes(range(256)))\n"
        "os.symlink('/etc/passwd', '/tmp/out/passwd')\n"
        "print(greet(sys.stdin.read().strip()), sys.argv[1:])\n"
    )
    files = (
        SourceFile(name="main.py", content=main),
        SourceFile(name="lib/__init__.py", content=""),
        SourceFile(
            name="lib/greet.py",
            content=base64.b64encode(b"def greet(who):\n    return f'hi {who}'\n").decode(),
            encoding="base64",
        ),
    )
    event = await run_job(
        cluster, job("python:3.12", main, files=files, entrypoint="main.py", args=("a b", "c"))
    )
    result = event.result
    assert event.status is ExecutionStatus.COMPLETED, (result.message, result.stderr)
    assert result.stdout == "hi e2e ['a b', 'c']\n"
    kept = {item.name: item for item in result.stored_files}
    assert set(kept) == {"report.txt", "plots/raw.png"}  # the link was not followed
    assert kept["report.txt"].data == b"hi a b"
    assert kept["plots/raw.png"].data == bytes(range(256))
    assert kept["plots/raw.png"].content_type == "image/png"
    assert result.files_truncated  # the link is reported as left out


async def test_python_exit_code(cluster: Cluster) -> None:
    event = await run_job(cluster, job("python:3.12", "import sys\nsys.exit(7)\n"))
    assert event.status is ExecutionStatus.FAILED
    assert (event.result.end_reason, event.result.exit_code) == (EndReason.FAILED, 7)


async def test_c_compiles_and_runs_with_stdin(cluster: Cluster) -> None:
    event = await run_job(cluster, job("c:gcc-12", C_HELLO, compiler_options=("-O2", "-Wall")))
    result = event.result
    assert event.status is ExecutionStatus.COMPLETED, (result.message, result.stderr)
    assert result.stdout == "hello e2e from C\n"
    assert result.compile is not None
    assert result.compile.exit_code == 0
    assert result.compile.wall_seconds > 0


async def test_c_exit_code_after_compiling(cluster: Cluster) -> None:
    event = await run_job(cluster, job("c:gcc-12", C_HELLO, stdin=""))
    assert (event.result.end_reason, event.result.exit_code) == (EndReason.FAILED, 3)


async def test_c_compile_error(cluster: Cluster) -> None:
    event = await run_job(cluster, job("c:gcc-12", "int main(void) { return undefined_name; }\n"))
    result = event.result
    assert event.status is ExecutionStatus.FAILED
    assert result.end_reason is EndReason.COMPILE_ERROR, result.message
    assert "undefined_name" in result.stderr
    assert result.compile is not None
    assert result.compile.exit_code not in (0, None)
    assert "undefined_name" in result.compile.output


async def test_c_compiler_cannot_include_host_files(cluster: Cluster) -> None:
    event = await run_job(cluster, job("c:gcc-12", '#include "/etc/shadow"\nint main(void){}\n'))
    assert event.result.end_reason is EndReason.COMPILE_ERROR
    assert "root:" not in event.result.stderr + event.result.stdout


async def test_c_program_is_offline_and_cannot_write_outside_tmp(cluster: Cluster) -> None:
    program = """#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
int main(void) {
    FILE *f = fopen("/etc/owned", "w");
    printf("write:%s\\n", f ? "yes" : "no");
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_port = htons(53);
    inet_pton(AF_INET, "1.1.1.1", &a.sin_addr);
    printf("connect:%s\\n", connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? "yes" : "no");
    return 0;
}
"""
    event = await run_job(cluster, job("c:gcc-12", program))
    assert event.status is ExecutionStatus.COMPLETED, (event.result.message, event.result.stderr)
    assert event.result.stdout == "write:no\nconnect:no\n"


async def test_c_fork_bomb_is_contained(cluster: Cluster) -> None:
    program = "#include <unistd.h>\nint main(void) { for (;;) fork(); }\n"
    limits = DEFAULT_POLICY.defaults.model_copy(update={"wall_seconds": 3.0})
    event = await run_job(cluster, dataclasses.replace(job("c:gcc-12", program), limits=limits))
    assert event.result.end_reason in (EndReason.TIMED_OUT, EndReason.FAILED)


PY_FORK_BOMB = """import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
C_MEMORY_BOMB = """#include <stdlib.h>
#include <string.h>
int main(void) {
    for (;;) { char *p = malloc(16 << 20); if (p) memset(p, 1, 16 << 20); }
}
"""
C_HOST_FILES = """#include <stdio.h>
int main(void) {
    FILE *f = fopen("/etc/shadow", "r");
    puts(f ? "read" : "denied");
    return f ? 0 : 1;
}
"""
ATTACKS = {
    "python:3.12": {
        "fork_bomb": PY_FORK_BOMB,
        "memory_bomb": "blocks = []\nwhile True:\n    blocks.append(b'x' * (16 << 20))\n",
        "output_flood": "while True:\n    print('x' * 4096)\n",
        "host_files": "print(open('/etc/shadow').read())\n",
    },
    "c:gcc-12": {
        "fork_bomb": "#include <unistd.h>\nint main(void) { for (;;) fork(); }\n",
        "memory_bomb": C_MEMORY_BOMB,
        "output_flood": '#include <stdio.h>\nint main(void) { for (;;) puts("xxxxxxxx"); }\n',
        "host_files": C_HOST_FILES,
    },
}
# What each attack must end as (never completed, never a platform error).
CONTAINED = {
    # A forking interpreter may reach the pod's memory before its process limit.
    "fork_bomb": {EndReason.TIMED_OUT, EndReason.FAILED, EndReason.MEMORY_LIMIT},
    "memory_bomb": {EndReason.MEMORY_LIMIT},
    "output_flood": {EndReason.OUTPUT_LIMIT},
    "host_files": {EndReason.FAILED},
}


@pytest.mark.parametrize(
    ("runtime_id", "attack"),
    [(rid, name) for rid, programs in ATTACKS.items() for name in programs],
)
async def test_attacks_are_contained_in_pods(
    cluster: Cluster, runtime_id: str, attack: str
) -> None:
    limits = DEFAULT_POLICY.defaults.model_copy(update={"wall_seconds": 5.0})
    attempt = job(runtime_id, ATTACKS[runtime_id][attack])
    event = await run_job(cluster, dataclasses.replace(attempt, limits=limits))
    result = event.result
    assert result.end_reason in CONTAINED[attack], (result.end_reason, result.message)
    assert "root:" not in result.stdout
