"""Host discovery, preflight and cgroups of the local sandbox runner (file system, real cgroups)."""

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sandpod.adapters.sandbox import SandboxHostError, check_host
from sandpod.adapters.sandbox.bwrap import host_root_entries
from sandpod.adapters.sandbox.cgroups import (
    CgroupError,
    CgroupLimits,
    CgroupsV1,
    CgroupsV2,
    open_cgroups,
    remove_stale,
)
from sandpod.adapters.sandbox.toolchains import (
    discover_on_host,
    find_program,
    locate,
    search_dirs,
)
from sandpod.config import LocalRunnerSettings
from sandpod.domain.runtimes import CATALOGUE, python, runtime
from tests.fixtures.sandbox import SANDBOX_CGROUP_PARENT


def shim(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f'#!/bin/sh\nexec pyenv exec {name} "$@"\n')
    path.chmod(0o755)
    return path


def test_search_dirs_are_the_catalogue_globs_newest_first_then_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for version in ("3.12.1", "3.12.10", "3.12.9", "3.13.0"):
        (tmp_path / ".pyenv" / "versions" / version / "bin").mkdir(parents=True)
    dirs = search_dirs(python("3.12"), tmp_path / "toolchains", "/opt/a:/opt/b")
    versions = tmp_path / ".pyenv" / "versions"
    assert dirs == [
        versions / "3.12.10" / "bin",
        versions / "3.12.9" / "bin",
        versions / "3.12.1" / "bin",
        Path("/opt/a"),
        Path("/opt/b"),
        Path("/usr/bin"),
    ]


def test_programs_skip_shims_and_resolve_links(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    shim(shims, "bash")
    links = tmp_path / "links"
    links.mkdir()
    (links / "bash").symlink_to("/usr/bin/bash")
    assert find_program("bash", [shims]) is None  # a wrapper script cannot run in the sandbox
    assert find_program("bash", [shims, links]) == Path("/usr/bin/bash").resolve()


def test_a_toolchain_is_found_only_at_the_catalogue_version(tmp_path: Path) -> None:
    bash = runtime("bash:5")
    found = locate(bash, [Path("/usr/bin")], tmp_path)
    assert found is not None
    assert found.installed_version.startswith("5.")
    assert found.binds == ()  # under /usr: nothing more to bind
    future = bash.model_copy(
        update={"toolchain": bash.toolchain.model_copy(update={"version": "9"})}
    )
    assert locate(future, [Path("/usr/bin")], tmp_path) is None


def test_a_missing_prepared_folder_or_config_path_makes_a_runtime_unavailable(
    tmp_path: Path,
) -> None:
    data = python("3.12-data")
    assert locate(data, search_dirs(data, tmp_path, None), tmp_path) is None
    (tmp_path / "python-3.12-data").mkdir()
    assert locate(data, search_dirs(data, tmp_path, None), tmp_path) is None  # no stamp yet
    bash = runtime("bash:5")
    needs = bash.model_copy(
        update={"toolchain": bash.toolchain.model_copy(update={"paths": (str(tmp_path / "x"),)})}
    )
    assert locate(needs, [Path("/usr/bin")], tmp_path) is None


def test_host_discovery_finds_the_catalogue_runtimes_of_this_machine(sandbox_host: object) -> None:
    found = discover_on_host(CATALOGUE, LocalRunnerSettings().toolchains_dir)
    assert {"python:3.12", "bash:5"} <= found.keys()
    assert set(found) <= {r.id for r in CATALOGUE}


def test_root_layout_mirrors_the_host(tmp_path: Path) -> None:
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    (tmp_path / "bin").symlink_to("usr/bin")
    (tmp_path / "lib").mkdir()
    entries = {entry.name: entry.symlink_target for entry in host_root_entries(tmp_path)}
    assert entries == {"bin": "usr/bin", "lib": None}


def test_preflight_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(
        SandboxHostError, match=r"^bubblewrap is not installed: apt-get install bubblewrap$"
    ):
        check_host(LocalRunnerSettings(bwrap_path=str(tmp_path / "bwrap")))
    with pytest.raises(
        SandboxHostError, match=r"no cgroup filesystem is mounted at .*cgroupfs-mount"
    ):
        check_host(LocalRunnerSettings(cgroup_root=tmp_path))


def test_preflight_passes_here(sandbox_host: object) -> None:
    report = check_host(LocalRunnerSettings(cgroup_parent=SANDBOX_CGROUP_PARENT))
    assert report.runtimes
    assert report.cgroup_version in (1, 2)


def test_missing_v1_controller_is_named(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "cgroup.procs").write_text("")
    with pytest.raises(CgroupError, match=r"controller\(s\) pids, cpu not mounted"):
        open_cgroups(tmp_path, "sandpod").check()


def test_v2_writes_limits_and_reads_usage_in_a_fake_tree(tmp_path: Path) -> None:
    # No cgroup v2 controllers on the test machines (v1 holds them): a plain folder stands in.
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    cgroups = open_cgroups(tmp_path, "sandpod")
    assert isinstance(cgroups, CgroupsV2)
    cgroup = cgroups.create("ex_1-ab", CgroupLimits(memory_bytes=64 << 20, pids=17))
    path = tmp_path / "sandpod" / "ex_1-ab"
    assert (path / "memory.max").read_text() == str(64 << 20)
    assert (path / "pids.max").read_text() == "17"
    assert (path / "cpu.max").read_text() == "100000 100000"
    assert (path / "cpu.weight").read_text() == "100"
    assert (tmp_path / "sandpod" / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    (path / "memory.peak").write_text("1234\n")
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (path / "cpu.stat").write_text("usage_usec 250000\nuser_usec 200000\n")
    usage = cgroup.usage()
    assert (usage.peak_memory_bytes, usage.oom_kills, usage.memory_limit_hits) == (1234, 1, 3)
    assert usage.cpu_seconds == 0.25
    # A warm sandbox's claim: only what differs from the limits written before.
    limits = CgroupLimits(memory_bytes=64 << 20, pids=17, cpu_weight=1)
    cgroup.set_limits(limits)
    for name in ("memory.max", "pids.max", "cpu.max"):
        (path / name).unlink()
    cgroup.set_limits(CgroupLimits(memory_bytes=64 << 20, pids=9), before=limits)
    assert sorted(item.name for item in path.glob("*.m*")) == ["pids.max"]
    assert ((path / "pids.max").read_text(), (path / "cpu.weight").read_text()) == ("9", "100")


def test_cgroup_lifecycle_on_this_host(sandbox_host: object) -> None:
    """Whichever cgroup version this host has (v1 here, v2 on GitHub's runners)."""
    root = Path("/sys/fs/cgroup")
    cgroups = open_cgroups(root, SANDBOX_CGROUP_PARENT)
    name = f"lifecycle-{secrets.token_hex(4)}"
    cgroup = cgroups.create(name, CgroupLimits(memory_bytes=32 << 20, pids=5))
    if isinstance(cgroups, CgroupsV1):
        memory, limit_file = root / "memory" / SANDBOX_CGROUP_PARENT / name, "memory.limit_in_bytes"
    else:
        memory, limit_file = root / SANDBOX_CGROUP_PARENT / name, "memory.max"
    assert (memory / limit_file).read_text().strip() == str(32 << 20)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        cgroup.add(sleeper.pid)
        assert cgroup.pids() == [sleeper.pid]
        assert not cgroup.remove()  # busy while a process lives in it
        cgroup.kill_all()
        assert sleeper.wait(10) == -signal.SIGKILL
    finally:
        if sleeper.poll() is None:
            os.kill(sleeper.pid, signal.SIGKILL)
            sleeper.wait()
    for _ in range(100):  # the kernel may take a moment to let go of the exited task
        if cgroup.remove():
            break
        time.sleep(0.01)  # bounded retry (100 x), no event tells when the kernel lets go
    assert not memory.exists()


def test_stale_sandbox_cgroups_are_removed_only_when_old_and_empty(tmp_path: Path) -> None:
    # Plain folders behave like cgroups here: rmdir succeeds only on an empty one.
    parent = tmp_path / "sandpod"
    old_empty, old_busy, fresh = parent / "ex_old-1", parent / "ex_busy-2", parent / "ex_new-3"
    for folder in (old_empty, old_busy, fresh):
        folder.mkdir(parents=True)
    (old_busy / "cgroup.procs").write_text("123\n")  # stands for a cgroup with processes
    for folder in (old_empty, old_busy):
        os.utime(folder, (0, 0))
    assert remove_stale([parent, tmp_path / "missing"]) == 1
    assert not old_empty.exists()
    assert old_busy.exists()
    assert fresh.exists()
