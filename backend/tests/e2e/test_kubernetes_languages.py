"""Each runtime whose image `make cluster-images` imports, through a real pod: its catalogue
example (hello with stdin), a stdin echo, a non-zero exit and a program that does not compile (or
parse), with the same programs as the local runner's tests (test_languages.py)."""

import pytest

from sandpod.domain.execution import new_execution_id
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason
from sandpod.domain.runtimes import Runtime, runtime
from sandpod.ports import SandboxJob
from tests.cluster import Cluster
from tests.e2e.test_kubernetes_runner import run_job
from tests.integration.test_languages import PROGRAMS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The images `make cluster-images` builds and imports (CLUSTER_TEST_PYTHONS, CLUSTER_TEST_RUNTIMES).
POD_RUNTIMES = [
    *(f"python:{version}" for version in ("3.11", "3.12", "3.13", "3.12-data")),
    *("c:gcc-12", "cpp:gcc-12", "bash:5", "ruby:3", "node:20", "typescript:5", "go:1.26"),
    *("java:17", "java:25", "rust:1"),
]


def job(entry: Runtime, script: str, stdin: str = "") -> SandboxJob:
    return SandboxJob(
        execution_id=new_execution_id(),
        runtime=entry,
        script=script,
        stdin=stdin,
        limits=entry.limits.policy(DEFAULT_POLICY).defaults,
    )


@pytest.mark.parametrize("runtime_id", POD_RUNTIMES)
async def test_hello_world_example(cluster: Cluster, runtime_id: str) -> None:
    entry = runtime(runtime_id)
    result = (await run_job(cluster, job(entry, entry.example, entry.example_stdin))).result
    assert result.end_reason is EndReason.COMPLETED, (result.message, result.stderr)
    assert result.stdout == entry.example_stdout
    assert (result.compile is not None) == (entry.compile is not None)


@pytest.mark.parametrize("runtime_id", POD_RUNTIMES)
async def test_stdin_echo(cluster: Cluster, runtime_id: str) -> None:
    entry = runtime(runtime_id)
    text = "".join(f"line {i} ✓ ünïcode\n" for i in range(500))
    result = (await run_job(cluster, job(entry, PROGRAMS[entry.language].echo, text))).result
    assert result.end_reason is EndReason.COMPLETED, (result.message, result.stderr)
    assert result.stdout == text


@pytest.mark.parametrize("runtime_id", POD_RUNTIMES)
async def test_non_zero_exit_code(cluster: Cluster, runtime_id: str) -> None:
    entry = runtime(runtime_id)
    result = (await run_job(cluster, job(entry, PROGRAMS[entry.language].exit_3))).result
    assert result.end_reason is EndReason.FAILED, (result.message, result.stderr)
    assert (result.exit_code, result.stdout) == (3, "bye\n")


@pytest.mark.parametrize("runtime_id", POD_RUNTIMES)
async def test_a_program_that_does_not_compile(cluster: Cluster, runtime_id: str) -> None:
    entry = runtime(runtime_id)
    programs = PROGRAMS[entry.language]
    result = (await run_job(cluster, job(entry, programs.broken))).result
    if entry.compile is None:  # an interpreter reports it when it runs
        assert result.end_reason is EndReason.FAILED, (result.message, result.stderr)
        assert programs.broken_says in result.stderr
        return
    assert result.end_reason is EndReason.COMPILE_ERROR, (result.message, result.stderr)
    assert result.compile is not None
    assert result.compile.exit_code not in (0, None)
    assert programs.broken_says in result.compile.output
    assert result.stdout + result.stderr == result.compile.output


async def test_the_data_runtime_has_its_packages_in_a_pod(cluster: Cluster) -> None:
    entry = runtime("python:3.12-data")
    script = (
        "import matplotlib.pyplot as plt, numpy, pandas\n"
        "plt.plot(numpy.arange(4))\n"
        "plt.savefig('/tmp/plot.png')\n"
        "print(numpy.arange(4).sum(), pandas.DataFrame({'a': [1, 2]}).a.sum())\n"
    )
    result = (await run_job(cluster, job(entry, script))).result
    assert result.end_reason is EndReason.COMPLETED, (result.message, result.stderr)
    assert result.stdout == "6 3\n"
