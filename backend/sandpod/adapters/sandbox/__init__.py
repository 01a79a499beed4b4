"""The local sandbox runner: bubblewrap + cgroups + rlimits on this machine."""

import logging

from sandpod.adapters.sandbox.cgroups import open_cgroups, remove_stale
from sandpod.adapters.sandbox.collect import OutputCaps
from sandpod.adapters.sandbox.host import HostReport, SandboxHostError, check_host
from sandpod.adapters.sandbox.runner import LocalSandboxRunner
from sandpod.adapters.sandbox.scratch import mounts_under, unmount_scratch
from sandpod.config import LocalRunnerSettings
from sandpod.domain.limits import LimitPolicy

__all__ = [
    "HostReport",
    "LocalSandboxRunner",
    "OutputCaps",
    "SandboxHostError",
    "build_local_runner",
    "check_host",
]


def build_local_runner(
    settings: LocalRunnerSettings,
    *,
    preflight: bool = True,
    limit_policy: LimitPolicy | None = None,
) -> LocalSandboxRunner:
    """The runner for these settings; with `preflight`, fail fast (SandboxHostError naming
    what to install) when this host cannot run sandboxes."""
    if preflight:
        check_host(settings)
        # A runner killed mid-run (SIGKILL, power loss) leaves empty cgroups behind.
        cgroups = open_cgroups(settings.cgroup_root, settings.cgroup_parent)
        if removed := remove_stale(cgroups.parents()):
            logging.getLogger(__name__).info("removed %d stale sandbox cgroups", removed)
        for mount in mounts_under(settings.sandbox_root):  # ...and their /tmp mounts
            unmount_scratch(mount)
    return LocalSandboxRunner(settings, limit_policy=limit_policy)
