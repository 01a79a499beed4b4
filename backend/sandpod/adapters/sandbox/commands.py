"""A runtime's compile and run commands as argv for one job. Pure: building them touches nothing.

Inside the sandbox the submitted files are under SOURCE_DIR (read-only), the compile step writes
to BUILD_DIR (inside the size-capped /tmp, so the run step finds it there), and a program leaves
files it wants kept under OUTPUT_DIR.
"""

from collections.abc import Sequence
from pathlib import PurePosixPath

from sandpod.adapters.sandbox.bwrap import SOURCE_DIR, sandbox_env
from sandpod.adapters.sandbox.toolchains import Toolchain
from sandpod.domain.limits import Limits
from sandpod.domain.runtimes import Runtime
from sandpod.ports import SandboxJob

BUILD_DIR = "/tmp/.build"  # noqa: S108  # nosec B108 (a path inside the sandbox)
COMPILE_FILE_SIZE_MB = 64  # a linked binary may be larger than what a program usually writes


def entrypoint(job: SandboxJob) -> str:
    return job.entrypoint or job.runtime.file_name


def source_names(job: SandboxJob) -> list[str]:
    """The submitted files the compiler is given: those with the entrypoint's suffix."""
    entry = entrypoint(job)
    if not job.files:
        return [entry]
    suffix = PurePosixPath(entry).suffix
    names = [item.name for item in job.files if PurePosixPath(item.name).suffix == suffix]
    # The entrypoint first: compilers that take the first file as the main one see it there.
    return [entry, *sorted(name for name in names if name != entry)]


def _fill(word: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        word = word.replace(placeholder, value)
    return word


def expand(
    words: Sequence[str],
    *,
    job: SandboxJob,
    toolchain: Toolchain,
    options: Sequence[str] = (),
) -> list[str]:
    """The command with its placeholders filled and its program made an absolute path."""
    entry = entrypoint(job)
    values = {
        "{file}": f"{SOURCE_DIR}/{entry}",
        "{stem}": PurePosixPath(entry).stem,
        "{build}": BUILD_DIR,
        "{toolchains}": str(toolchain.toolchains_dir),
        "{memory_mb}": str(job.limits.memory_mb),
    }
    argv: list[str] = []
    for word in words:
        if word == "{sources}":
            argv += [f"{SOURCE_DIR}/{name}" for name in source_names(job)]
        elif word == "{options}":
            argv += list(options)
        else:
            argv.append(_fill(word, values))
    program = toolchain.programs.get(argv[0])
    if program is not None:
        argv[0] = str(program)
    return argv


def run_command(job: SandboxJob, toolchain: Toolchain) -> list[str]:
    return [*expand(job.runtime.command, job=job, toolchain=toolchain), *job.args]


def compile_command(job: SandboxJob, toolchain: Toolchain) -> list[str] | None:
    step = job.runtime.compile
    if step is None:
        return None
    return expand(step.command, job=job, toolchain=toolchain, options=job.compiler_options)


def refused_options(job: SandboxJob) -> list[str]:
    """Compiler options outside the runtime's allow-list (all of them without a compile step)."""
    step = job.runtime.compile
    return [o for o in job.compiler_options if step is None or not step.allows(o)]


def environment(runtime: Runtime, toolchain: Toolchain, memory_mb: int) -> dict[str, str]:
    values = {"{toolchains}": str(toolchain.toolchains_dir), "{memory_mb}": str(memory_mb)}
    extra = {name: _fill(value, values) for name, value in runtime.env.items()}
    return sandbox_env(extra, [str(path) for path in toolchain.bin_dirs])


def compile_limits(job: SandboxJob) -> Limits:
    step = job.runtime.compile
    assert step is not None
    return job.limits.model_copy(
        update={
            "wall_seconds": step.limits.wall_seconds,
            "cpu_seconds": step.limits.cpu_seconds,
            "memory_mb": step.limits.memory_mb,
            "processes": step.limits.processes,
            "file_size_mb": max(job.limits.file_size_mb, COMPILE_FILE_SIZE_MB),
        }
    )
