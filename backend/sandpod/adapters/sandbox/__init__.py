"""The local sandbox runner: bubblewrap + cgroups + rlimits on this machine."""

import logging

from sandpod.adapters.sandbox.cgroups import open_cgroups, remove_stale
from sandpod.adapters.sandbox.host import HostReport, SandboxHostError, check_host
from sandpod.adapters.sandbox.runner import LocalSandboxRunner
from sandpod.config import LocalRunnerSettings

__all__ = [
    "HostReport",
    "LocalSandboxRunner",
    "SandboxHostError",
    "build_local_runner",
    "check_host",
]


def build_local_runner(
    settings: LocalRunnerSettings, *, preflight: bool = True
) -> LocalSandboxRunner:
    """The runner for these settings; with `preflight`, fail fast (SandboxHostError naming
    what to install) when this host cannot run sandboxes."""
    if preflight:
        check_host(settings)
        # A runner killed mid-run (SIGKILL, power loss) leaves empty cgroups behind.
        cgroups = open_cgroups(settings.cgroup_root, settings.cgroup_parent)
        if removed := remove_stale(cgroups.parents()):
            logging.getLogger(__name__).info("removed %d stale sandbox cgroups", removed)
    return LocalSandboxRunner(settings)
