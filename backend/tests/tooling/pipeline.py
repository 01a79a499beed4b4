"""Paths and tool lookup shared by the pipeline-file tests (workflows, Dockerfiles, compose)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.environment import unavailable

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
TOOLS_BIN = ROOT / ".cache" / "bin"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
DOCKERFILES = [
    ROOT / "backend" / "Dockerfile.base",
    ROOT / "backend" / "Dockerfile",
    ROOT / "cert-generator" / "Dockerfile",
    *sorted((ROOT / "runtimes").glob("*/Dockerfile")),
]
COMPOSE_FILE = ROOT / "docker-compose.yaml"


def tool(name: str, hint: str) -> str:
    """The tool's path: the project venv, then .cache/bin (scripts/install-tools.sh), then PATH.

    Skips the test (fails it under CI, which installs them all), naming what to run, when the
    tool is nowhere.
    """
    for folder in (VENV_BIN, TOOLS_BIN):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed: {hint}")
    return found


def yq() -> str:
    """mikefarah yq v4 (the Python `yq` some machines have on PATH is a different tool)."""
    path = os.environ.get("YQ") or tool("yq", "run `make tools`")
    version = run([path, "--version"]).stdout
    if "mikefarah" not in version:
        unavailable(f"{path} is not mikefarah yq v4 ({version.strip()}): run `make tools`")
    return path


def run(
    command: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run a command with a time limit; the caller asserts on the result."""
    return subprocess.run(  # fixed argument lists, no shell
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def make_ci_compose(target: Path) -> Path:
    """Write the CI compose file for COMPOSE_FILE into target with scripts/compose_ci.sh."""
    result = run([str(ROOT / "scripts" / "compose_ci.sh"), str(COMPOSE_FILE), str(target)],
                 env={"YQ": yq()})  # fmt: skip
    assert result.returncode == 0, result.stderr
    return target
