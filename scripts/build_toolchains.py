"""Prepare the folders catalogue runtimes name in `toolchain.prepared`, once, for the local runner.

    cd backend && uv run python ../scripts/build_toolchains.py [--only NAME]

`make toolchains` runs it (and `make test` through it). Each folder is built in place and gets
a `.complete` stamp, written last, holding the hash of its inputs (lock file,
toolchain version): an unchanged folder is skipped, a changed input rebuilds it. The local
runner binds the folders read-only and treats a runtime whose folder lacks the stamp as not
available. A toolchain that is not on this host (no Go, no Node.js) is reported and skipped.

Adding a package set (see docs/runtimes.md): a lock file under runtimes/, a catalogue entry
whose toolchain lists the folder in `prepared`, and a builder in BUILDERS below.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sandpod.adapters.sandbox.commands import environment
from sandpod.adapters.sandbox.toolchains import Toolchain, find_program, search_dirs
from sandpod.config import LocalRunnerSettings
from sandpod.domain.runtimes import CATALOGUE, Runtime

ROOT = Path(__file__).resolve().parents[1]
RUNTIMES = ROOT / "runtimes"
STAMP = ".complete"
# Go packages compiled into the read-only build cache: what programs import most. Anything
# else still compiles, from source, inside the compile step's limits.
GO_PACKAGES = [
    "bufio",
    "bytes",
    "container/heap",
    "container/list",
    "errors",
    "fmt",
    "io",
    "math",
    "math/big",
    "math/bits",
    "math/rand",
    "os",
    "sort",
    "strconv",
    "strings",
    "sync",
    "time",
    "unicode",
    "unicode/utf8",
    "regexp",
    "slices",
    "maps",
    "encoding/json",
]


class SkipError(RuntimeError):
    """This host lacks what the folder is built with."""


def run(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    print("  $", " ".join(command), flush=True)
    subprocess.run(command, check=True, env=env, cwd=cwd)


def program(runtime: Runtime, name: str, toolchains_dir: Path) -> Path:
    found = find_program(name, search_dirs(runtime, toolchains_dir, os.environ.get("PATH")))
    if found is None:
        raise SkipError(f"{name} is not installed")
    return found


def runtime_using(folder: str) -> Runtime:
    return next(r for r in CATALOGUE if folder in r.toolchain.prepared)


def build_go(folder: str, target: Path, toolchains_dir: Path) -> None:
    runtime = runtime_using(folder)
    go = program(runtime, "go", toolchains_dir)
    toolchain = Toolchain(runtime.id, {"go": go}, (), toolchains_dir, "")
    env = environment(runtime, toolchain, 512)
    # Built where the sandbox will find it: the cache records no absolute cache path.
    env |= {"GOCACHE": str(target / "cache"), "GOPATH": str(target / "gopath")}
    env["PATH"] = f"{go.parent}:/usr/bin:/bin"
    run([str(go), "build", *GO_PACKAGES], env=env)
    shutil.rmtree(target / "gopath", ignore_errors=True)


def build_typescript(folder: str, target: Path, toolchains_dir: Path) -> None:
    runtime = runtime_using(folder)
    node = program(runtime, "node", toolchains_dir)
    npm = shutil.which("npm")
    if npm is None:
        raise SkipError("npm is not installed")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(RUNTIMES / "typescript" / name, target / name)
    env = {**os.environ, "PATH": f"{node.parent}:{os.environ.get('PATH', '')}"}
    run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], env=env, cwd=target)


def build_python_data(folder: str, target: Path, toolchains_dir: Path) -> None:
    runtime = runtime_using(folder)
    python = program(runtime, runtime.toolchain.programs[0], toolchains_dir)
    uv = shutil.which("uv")
    if uv is None:
        raise SkipError("uv is not installed")
    site = target / "site-packages"
    lock = RUNTIMES / "python-data" / "requirements.lock"
    install = [uv, "pip", "install", "--quiet", "--no-deps", "--require-hashes"]
    install.append("--compile-bytecode")  # a read-only folder cannot get its .pyc files later
    run([*install, "--python", str(python), "--target", str(site), "-r", str(lock)])
    # Matplotlib's font list, built once here: in the sandbox its folder is read-only.
    env = {"PYTHONPATH": str(site), "MPLCONFIGDIR": str(target / "matplotlib"), "MPLBACKEND": "Agg"}
    run([str(python), "-s", "-c", "import matplotlib.pyplot"], env=env)


BUILDERS: dict[str, tuple[Callable[[str, Path, Path], None], list[Path]]] = {
    "go-1.26": (build_go, []),
    "typescript": (build_typescript, [RUNTIMES / "typescript" / "package-lock.json"]),
    "python-3.12-data": (build_python_data, [RUNTIMES / "python-data" / "requirements.lock"]),
}


def fingerprint(folder: str, inputs: list[Path], toolchains_dir: Path) -> str:
    digest = hashlib.sha256(folder.encode())
    for path in inputs:
        digest.update(path.read_bytes())
    runtime = runtime_using(folder)
    for name in runtime.toolchain.programs:
        found = find_program(name, search_dirs(runtime, toolchains_dir, os.environ.get("PATH")))
        digest.update(str(found).encode())
    return digest.hexdigest()


def prepare(folder: str, toolchains_dir: Path) -> str:
    builder, inputs = BUILDERS[folder]
    final = toolchains_dir / folder
    stamp = fingerprint(folder, inputs, toolchains_dir)
    if (final / STAMP).is_file() and (final / STAMP).read_text().strip() == stamp:
        return "up to date"
    print(f"building {final}", flush=True)
    toolchains_dir.mkdir(parents=True, exist_ok=True)
    # The sandbox user reads these folders: world-readable, owned by whoever builds them.
    toolchains_dir.chmod(0o755)
    if final.exists():
        shutil.rmtree(final)
    # Built at the final path: Go's cache and matplotlib's font list record where they are.
    final.mkdir(mode=0o755)
    try:
        builder(folder, final, toolchains_dir)
        for path in [final, *final.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
        (final / STAMP).write_text(stamp + "\n")
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return "built"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(BUILDERS))
    args = parser.parse_args(argv)
    toolchains_dir = LocalRunnerSettings().toolchains_dir
    wanted = {folder for runtime in CATALOGUE for folder in runtime.toolchain.prepared}
    missing = wanted - BUILDERS.keys()
    if missing:
        print(f"no builder for prepared folder(s): {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    failed = False
    for folder in sorted(args.only or wanted):
        try:
            print(f"toolchains: {folder}: {prepare(folder, toolchains_dir)}", flush=True)
        except SkipError as skipped:
            print(f"toolchains: {folder}: skipped ({skipped})", flush=True)
        except subprocess.CalledProcessError as error:
            print(f"toolchains: {folder}: failed ({error})", file=sys.stderr, flush=True)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
