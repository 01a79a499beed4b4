"""Find which catalogue runtimes have an interpreter on this host, and where it lives."""

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandpod.domain.runtimes import Runtime

_ELF_MAGIC = b"\x7fELF"
_VERSION_DIR = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class Interpreter:
    """A real interpreter binary and the installation prefix the sandbox must see."""

    version: str  # "3.12"
    executable: Path  # resolved ELF binary, also its path inside the sandbox
    prefix: Path  # bound read-only at the same path (RUNPATH and stdlib are absolute)

    @property
    def bin_dir(self) -> Path:
        return self.executable.parent


def search_dirs(path_env: str | None, home: Path, pyenv_root: str | None = None) -> list[Path]:
    """PATH first, then /usr/bin, then pyenv versions (newest patch release first)."""
    dirs = [Path(entry) for entry in (path_env or "").split(os.pathsep) if entry]
    dirs.append(Path("/usr/bin"))
    versions = Path(pyenv_root) / "versions" if pyenv_root else home / ".pyenv" / "versions"
    if versions.is_dir():
        found = [(m, d) for d in versions.iterdir() if (m := _VERSION_DIR.match(d.name))]
        found.sort(key=lambda item: tuple(int(part) for part in item[0].groups()), reverse=True)
        dirs.extend(d / "bin" for _, d in found)
    return list(dict.fromkeys(dirs))


def _is_elf(path: Path) -> bool:
    # pyenv shims and other wrapper scripts cannot run in the sandbox: no shell, no pyenv.
    try:
        with path.open("rb") as handle:
            return handle.read(4) == _ELF_MAGIC
    except OSError:
        return False


def _prefix_of(executable: Path, version: str) -> Path | None:
    if executable.parent.name != "bin":
        return None
    prefix = executable.parent.parent
    return prefix if (prefix / "lib" / f"python{version}").is_dir() else None


def find_interpreter(version: str, dirs: Iterable[Path]) -> Interpreter | None:
    """The first real `python{version}` binary in `dirs` with a usable installation prefix."""
    for directory in dirs:
        candidate = directory / f"python{version}"
        if not candidate.is_file() or not os.access(candidate, os.X_OK):
            continue
        executable = candidate.resolve()
        if not _is_elf(executable):
            continue
        prefix = _prefix_of(executable, version)
        if prefix is not None:
            return Interpreter(version=version, executable=executable, prefix=prefix)
    return None


def discover(runtimes: Sequence[Runtime], dirs: Sequence[Path]) -> dict[str, Interpreter]:
    """Map runtime id to the interpreter found for it; runtimes without one are left out."""
    found: dict[str, Interpreter] = {}
    for runtime in runtimes:
        if runtime.language != "python":
            continue
        interpreter = find_interpreter(runtime.version, dirs)
        if interpreter is not None:
            found[runtime.id] = interpreter
    return found


def discover_on_host(runtimes: Sequence[Runtime]) -> dict[str, Interpreter]:
    dirs = search_dirs(os.environ.get("PATH"), Path.home(), os.environ.get("PYENV_ROOT"))
    return discover(runtimes, dirs)


def sandbox_command(runtime: Runtime, interpreter: Interpreter, script_path: str) -> list[str]:
    """The runtime's argv with its program replaced by the interpreter's absolute path."""
    program, *args = runtime.command
    if program != f"python{interpreter.version}":
        raise ValueError(f"runtime {runtime.id} does not run {program!r} with {interpreter}")
    return [str(interpreter.executable), *(arg.replace("{file}", script_path) for arg in args)]
