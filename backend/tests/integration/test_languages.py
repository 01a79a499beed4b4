"""Every catalogue runtime on the local runner, against the real toolchains of this host: its
example, a stdin echo, a non-zero exit code and a program that does not compile (or parse)."""

from dataclasses import dataclass

import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason
from sandpod.domain.runtimes import CATALOGUE, Runtime
from sandpod.ports import SandboxJob
from tests.environment import unavailable
from tests.fixtures.sandbox import SandboxJobs


@dataclass(frozen=True)
class Programs:
    echo: str  # writes its whole stdin to stdout
    exit_3: str  # prints "bye" and exits with code 3
    broken: str  # does not compile (compiled languages) or does not parse
    broken_says: str  # what the compiler or interpreter says about it


PYTHON = Programs(
    echo="import sys\nsys.stdout.write(sys.stdin.read())\n",
    exit_3="import sys\nprint('bye')\nsys.exit(3)\n",
    broken="def f(:\n",
    broken_says="SyntaxError",
)
NODE = Programs(
    echo='process.stdout.write(require("fs").readFileSync(0));\n',
    exit_3='console.log("bye");\nprocess.exit(3);\n',
    broken="function f( {\n",
    broken_says="SyntaxError",
)
PROGRAMS = {
    "python": PYTHON,
    "node": NODE,
    "typescript": Programs(
        echo='process.stdout.write(require("fs").readFileSync(0));\n',
        exit_3='console.log("bye");\nprocess.exit(3);\n',
        broken='const n: number = "not a number";\n',
        broken_says="error TS2322",
    ),
    "bash": Programs(
        echo="cat\n",
        exit_3="echo bye\nexit 3\n",
        broken="if then fi (\n",
        broken_says="syntax error",
    ),
    "ruby": Programs(
        echo="$stdout.write($stdin.read)\n",
        exit_3="puts 'bye'\nexit 3\n",
        broken="def f(\n",
        broken_says="syntax error",
    ),
    "c": Programs(
        echo=(
            "#include <stdio.h>\n"
            "int main(void) { int c; while ((c = getchar()) != EOF) putchar(c); return 0; }\n"
        ),
        exit_3='#include <stdio.h>\nint main(void) { puts("bye"); return 3; }\n',
        broken="int main(void) { return undefined_name; }\n",
        broken_says="undefined_name",
    ),
    "cpp": Programs(
        echo="#include <iostream>\nint main() { std::cout << std::cin.rdbuf(); }\n",
        exit_3='#include <iostream>\nint main() { std::cout << "bye" << std::endl; return 3; }\n',
        broken="int main() { return undefined_name; }\n",
        broken_says="undefined_name",
    ),
    "go": Programs(
        echo='package main\n\nimport (\n\t"io"\n\t"os"\n)\n\n'
        "func main() { io.Copy(os.Stdout, os.Stdin) }\n",
        exit_3='package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\n'
        'func main() {\n\tfmt.Println("bye")\n\tos.Exit(3)\n}\n',
        broken="package main\n\nfunc main() { undefinedName() }\n",
        broken_says="undefined: undefinedName",
    ),
    "rust": Programs(
        echo="use std::io::{self, Read, Write};\n"
        "fn main() { let mut s = Vec::new(); io::stdin().read_to_end(&mut s).unwrap(); "
        "io::stdout().write_all(&s).unwrap(); }\n",
        exit_3='fn main() { println!("bye"); std::process::exit(3); }\n',
        broken='fn main() { let x: i32 = "text"; }\n',
        broken_says="mismatched types",
    ),
    "java": Programs(
        echo="public class Main { public static void main(String[] a) throws Exception "
        "{ System.in.transferTo(System.out); } }\n",
        exit_3="public class Main { public static void main(String[] a) "
        '{ System.out.println("bye"); System.exit(3); } }\n',
        broken="public class Main { public static void main(String[] a) { int x = ; } }\n",
        broken_says="illegal start of expression",
    ),
}
IDS = [runtime.id for runtime in CATALOGUE]


def runtime_here(runner: LocalSandboxRunner, runtime_id: str) -> Runtime:
    for runtime in runner.runtimes():
        if runtime.id == runtime_id:
            return runtime
    unavailable(f"{runtime_id} is not installed here (run `make toolchains`)")


def job_for(jobs: SandboxJobs, runtime: Runtime, script: str, stdin: str = "") -> SandboxJob:
    # The runtime's own defaults (a JVM gets more memory than Bash), as the API would resolve.
    limits = runtime.limits.policy(DEFAULT_POLICY).defaults.model_dump()
    return jobs(script, stdin=stdin, runtime=runtime, limits=limits)


def test_every_catalogue_language_has_test_programs() -> None:
    assert {runtime.language for runtime in CATALOGUE} == PROGRAMS.keys()


@pytest.mark.parametrize("runtime_id", IDS)
async def test_hello_world_example(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, runtime_id: str
) -> None:
    runtime = runtime_here(sandbox_runner, runtime_id)
    job = job_for(sandbox_jobs, runtime, runtime.example, runtime.example_stdin)
    result = await sandbox_runner.run(job)
    assert result.end_reason is EndReason.COMPLETED, result
    assert result.stdout == runtime.example_stdout
    assert result.stderr == ""
    assert (result.compile is not None) == (runtime.compile is not None)


@pytest.mark.parametrize("runtime_id", IDS)
async def test_stdin_echo(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, runtime_id: str
) -> None:
    runtime = runtime_here(sandbox_runner, runtime_id)
    text = "".join(f"line {i} ✓ ünïcode\n" for i in range(2000))
    job = job_for(sandbox_jobs, runtime, PROGRAMS[runtime.language].echo, text)
    result = await sandbox_runner.run(job)
    assert result.end_reason is EndReason.COMPLETED, result
    assert result.stdout == text


@pytest.mark.parametrize("runtime_id", IDS)
async def test_non_zero_exit_code(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, runtime_id: str
) -> None:
    runtime = runtime_here(sandbox_runner, runtime_id)
    result = await sandbox_runner.run(
        job_for(sandbox_jobs, runtime, PROGRAMS[runtime.language].exit_3)
    )
    assert result.end_reason is EndReason.FAILED, result
    assert (result.exit_code, result.stdout) == (3, "bye\n")


@pytest.mark.parametrize("runtime_id", IDS)
async def test_a_program_that_does_not_compile(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, runtime_id: str
) -> None:
    runtime = runtime_here(sandbox_runner, runtime_id)
    programs = PROGRAMS[runtime.language]
    result = await sandbox_runner.run(job_for(sandbox_jobs, runtime, programs.broken))
    if runtime.compile is None:  # an interpreter reports it when it runs
        assert result.end_reason is EndReason.FAILED, result
        assert programs.broken_says in result.stderr
        return
    assert result.end_reason is EndReason.COMPILE_ERROR, result
    assert result.status.value == "failed"
    assert result.compile is not None
    assert result.compile.exit_code not in (0, None)
    assert programs.broken_says in result.compile.output
    assert result.message is not None
    assert result.message.startswith("compilation failed (exit code")
    assert result.stdout + result.stderr == result.compile.output  # the compiler's own words
