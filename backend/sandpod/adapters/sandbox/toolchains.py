"""Find each catalogue runtime's toolchain on this host, and what the sandbox must see of it.

A runtime is available when every program of its toolchain is found as a real executable (not a
shim or proxy that needs a writable home: pyenv shims, rustup proxies), its version command
reports the catalogue's version, and its prepared folders (`make toolchains`) exist. Everything
a toolchain needs outside /usr is bound read-only at the same path.
"""

import functools
import glob
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sandpod.domain.runtimes import Runtime

_ELF_MAGIC = b"\x7fELF"
VERSION_TIMEOUT = 20.0
USR = Path("/usr")


@dataclass(frozen=True)
class Toolchain:
    """A runtime's programs as found here, and the host paths the sandbox binds read-only."""

    runtime_id: str
    programs: Mapping[str, Path]  # program name -> absolute path usable inside the sandbox
    binds: tuple[Path, ...]  # bound read-only at the same path
    toolchains_dir: Path
    installed_version: str
    tmp_seed: Mapping[str, Path] = field(default_factory=dict)  # under /tmp -> host folder

    @property
    def bin_dirs(self) -> list[Path]:
        return list(dict.fromkeys(path.parent for path in self.programs.values()))


def _under(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _is_elf(path: Path) -> bool:
    # Shims and wrapper scripts (pyenv, rustup) cannot run in the sandbox: no shell, no home.
    try:
        with path.open("rb") as handle:
            return handle.read(4) == _ELF_MAGIC
    except OSError:
        return False


def _expand(pattern: str, toolchains_dir: Path) -> list[Path]:
    expanded = os.path.expanduser(pattern.replace("{toolchains}", str(toolchains_dir)))
    # Newest first: version-like folder names sort by their numbers.
    found = sorted(
        glob.glob(expanded),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p)],
        reverse=True,
    )
    return [Path(p) for p in found]


def search_dirs(runtime: Runtime, toolchains_dir: Path, path_env: str | None) -> list[Path]:
    dirs = [d for pattern in runtime.toolchain.search for d in _expand(pattern, toolchains_dir)]
    dirs += [Path(entry) for entry in (path_env or "").split(os.pathsep) if entry]
    dirs.append(Path("/usr/bin"))
    return list(dict.fromkeys(dirs))


def _prefix(executable: Path) -> Path:
    """What to bind for a program outside /usr: its installation (the folder above bin/)."""
    return executable.parent.parent if executable.parent.name == "bin" else executable.parent


def find_program(name: str, dirs: Iterable[Path]) -> Path | None:
    """The real file behind the first `name` in `dirs` (links resolved: /usr/bin/java points
    through /etc/alternatives, which the sandbox does not have)."""
    for directory in dirs:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            real = candidate.resolve()
            if _is_elf(real):
                return real
    return None


@functools.cache
def _version_output(command: tuple[str, ...]) -> str:
    try:
        done = subprocess.run(  # noqa: S603 (catalogue's fixed command, resolved program)
            command,
            capture_output=True,
            text=True,
            check=False,
            timeout=VERSION_TIMEOUT,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout + done.stderr


def locate(runtime: Runtime, dirs: Sequence[Path], toolchains_dir: Path) -> Toolchain | None:
    """The runtime's toolchain on this host, or None when something is missing."""
    spec = runtime.toolchain
    programs: dict[str, Path] = {}
    for name in spec.programs:
        found = find_program(name, dirs)
        if found is None:
            return None
        programs[name] = found
    binds: list[Path] = []
    for path in programs.values():
        if not _under(path, USR):
            binds.append(_prefix(path))
    for extra in spec.paths:
        path = Path(extra)
        if not path.exists():
            return None
        binds.append(path)
    for folder in spec.prepared:
        path = toolchains_dir / folder
        if not (path / ".complete").is_file():  # written last by `make toolchains`
            return None
        binds.append(path)
    program, *rest = spec.version_command
    command = (str(programs.get(program) or program), *rest)
    match = re.search(spec.version_pattern, _version_output(command))
    if match is None or not match.group(1).startswith(spec.version):
        return None
    seeds = {
        dest: Path(source.replace("{toolchains}", str(toolchains_dir)))
        for dest, source in spec.tmp_seed.items()
    }
    if not all(source.is_dir() for source in seeds.values()):
        return None
    return Toolchain(
        runtime_id=runtime.id,
        programs=programs,
        binds=tuple(dict.fromkeys(binds)),
        toolchains_dir=toolchains_dir,
        installed_version=match.group(1),
        tmp_seed=seeds,
    )


def discover(
    runtimes: Sequence[Runtime], toolchains_dir: Path, path_env: str | None
) -> dict[str, Toolchain]:
    """Runtime id -> toolchain, for every runtime this host can run."""
    found: dict[str, Toolchain] = {}
    for runtime in runtimes:
        toolchain = locate(runtime, search_dirs(runtime, toolchains_dir, path_env), toolchains_dir)
        if toolchain is not None:
            found[runtime.id] = toolchain
    return found


def discover_on_host(runtimes: Sequence[Runtime], toolchains_dir: Path) -> dict[str, Toolchain]:
    return discover(runtimes, toolchains_dir, os.environ.get("PATH"))
