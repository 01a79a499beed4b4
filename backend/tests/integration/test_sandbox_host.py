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
from sandpod.adapters.sandbox.interpreters import discover, find_interpreter, search_dirs
from sandpod.config import LocalRunnerSettings
from sandpod.domain.runtimes import CATALOGUE
from tests.fixtures.sandbox import SANDBOX_CGROUP_PARENT

ELF = b"\x7fELF" + b"\0" * 60


def fake_python(prefix: Path, version: str, content: bytes = ELF) -> Path:
    (prefix / "lib" / f"python{version}").mkdir(parents=True)
    binary = prefix / "bin" / f"python{version}"
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.write_bytes(content)
    binary.chmod(0o755)
    return binary


def test_discovery_skips_shims_and_prefers_path_then_newest_pyenv(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "python3.12").write_text('#!/bin/sh\nexec pyenv exec python3.12 "$@"\n')
    (shims / "python3.12").chmod(0o755)
    pyenv = tmp_path / "pyenv"
    fake_python(pyenv / "versions" / "3.12.1", "3.12")
    newest = fake_python(pyenv / "versions" / "3.12.10", "3.12")
    fake_python(pyenv / "versions" / "3.13.0", "3.13")
    (pyenv / "versions" / "system").mkdir()  # not a version folder: ignored

    dirs = search_dirs(str(shims), tmp_path / "home", str(pyenv))
    assert dirs[0] == shims
    found = discover(CATALOGUE, dirs)
    assert found["python:3.12"].executable == newest
    assert found["python:3.12"].prefix == pyenv / "versions" / "3.12.10"
    assert found["python:3.13"].version == "3.13"


def test_a_symlink_resolves_to_its_installation(tmp_path: Path) -> None:
    real = fake_python(tmp_path / "opt" / "python", "3.13")
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python3.13").symlink_to(real)
    interpreter = find_interpreter("3.13", [venv])
    assert interpreter is not None
    assert (interpreter.executable, interpreter.prefix) == (real, tmp_path / "opt" / "python")


def test_a_binary_without_its_stdlib_is_not_an_interpreter(tmp_path: Path) -> None:
    lonely = tmp_path / "bin"
    lonely.mkdir()
    (lonely / "python3.12").write_bytes(ELF)
    (lonely / "python3.12").chmod(0o755)
    assert find_interpreter("3.12", [lonely]) is None


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
    assert (tmp_path / "sandpod" / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    (path / "memory.peak").write_text("1234\n")
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (path / "cpu.stat").write_text("usage_usec 250000\nuser_usec 200000\n")
    usage = cgroup.usage()
    assert (usage.peak_memory_bytes, usage.oom_kills, usage.memory_limit_hits) == (1234, 1, 3)
    assert usage.cpu_seconds == 0.25


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
