"""Preflight: can this machine run sandboxes? Each failure names what to install or change."""

import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sandpod.adapters.sandbox.cgroups import CgroupError, CgroupLimits, open_cgroups
from sandpod.adapters.sandbox.toolchains import discover_on_host
from sandpod.config import LocalRunnerSettings
from sandpod.domain.runtimes import CATALOGUE, Runtime

# Options the runner passes; a bwrap without any of them is too old.
BWRAP_OPTIONS = (
    "--userns",
    "--size",
    "--json-status-fd",
    "--block-fd",
    "--remount-ro",
    "--seccomp",
)


class SandboxHostError(RuntimeError):
    """This host cannot run the local sandbox; the message says how to fix it."""


@dataclass(frozen=True)
class HostReport:
    bwrap: str
    bwrap_version: str
    cgroup_version: int
    runtimes: list[str]


def find_bwrap(bwrap_path: str) -> str:
    found = shutil.which(bwrap_path)
    if found is None:
        raise SandboxHostError("bubblewrap is not installed: apt-get install bubblewrap")
    return found


def _bwrap_version(bwrap: str) -> str:
    result = subprocess.run(  # noqa: S603 (configured bwrap, fixed arguments)
        [bwrap, "--version"], capture_output=True, text=True, check=False, timeout=10
    )
    match = re.search(r"(\d+\.\d+(?:\.\d+)?)", result.stdout)
    return match.group(1) if match else "unknown"


def _check_bwrap_options(bwrap: str, version: str) -> None:
    result = subprocess.run(  # noqa: S603 (configured bwrap, fixed arguments)
        [bwrap, "--help"], capture_output=True, text=True, check=False, timeout=10
    )
    missing = [option for option in BWRAP_OPTIONS if option not in result.stdout + result.stderr]
    if missing:
        raise SandboxHostError(
            f"bubblewrap {version} lacks {', '.join(missing)}: "
            "apt-get install bubblewrap (0.8 or newer)"
        )


def _check_user_namespaces() -> None:
    limit = Path("/proc/sys/user/max_user_namespaces")
    if limit.exists() and limit.read_text().strip() == "0":
        raise SandboxHostError(
            "user namespaces are disabled: sysctl -w user.max_user_namespaces=10000"
        )


def _check_cgroups(cgroup_root: Path, cgroup_parent: str) -> int:
    try:
        cgroups = open_cgroups(cgroup_root, cgroup_parent)
        cgroups.check()
        probe = cgroups.create(
            f"preflight-{secrets.token_hex(4)}", CgroupLimits(memory_bytes=64 << 20, pids=8)
        )
        probe.remove()
    except CgroupError as exc:
        raise SandboxHostError(str(exc)) from exc
    return cgroups.version


def check_host(
    settings: LocalRunnerSettings, *, catalogue: tuple[Runtime, ...] = CATALOGUE
) -> HostReport:
    """Raise SandboxHostError naming the fix for the first missing piece."""
    if os.geteuid() != 0:
        raise SandboxHostError(
            "the local sandbox runner must run as root (it creates cgroups and maps the "
            "sandbox user); use the Kubernetes runner otherwise"
        )
    bwrap = find_bwrap(settings.bwrap_path)
    version = _bwrap_version(bwrap)
    _check_bwrap_options(bwrap, version)
    _check_user_namespaces()
    cgroup_version = _check_cgroups(settings.cgroup_root, settings.cgroup_parent)
    runtimes = sorted(discover_on_host(catalogue, settings.toolchains_dir))
    if not runtimes:
        wanted = ", ".join(sorted({runtime.toolchain.programs[0] for runtime in catalogue}))
        raise SandboxHostError(
            f"no toolchain of the catalogue ({wanted}) found: apt-get install python3"
        )
    return HostReport(bwrap, version, cgroup_version, runtimes)
