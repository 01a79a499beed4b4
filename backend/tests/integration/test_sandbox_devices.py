"""The sandbox's /dev (devices.py): a root-owned folder of device nodes bound whole, made once
and remade when it is not as expected; where the sandbox root cannot hold device nodes (a nodev
filesystem) each device is bound on its own. Both give the program the same /dev."""

import ctypes
import ctypes.util
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.adapters.sandbox.devices import DEVICES, FOLDER, device_folder
from sandpod.config import LocalRunnerSettings
from sandpod.domain.result import EndReason
from tests.fixtures.sandbox import SANDBOX_CGROUP_PARENT, SandboxJobs

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
MS_NODEV = 0x4

SCRIPT = """
import json, os
with open("/dev/urandom", "rb") as f, open("/dev/null", "wb") as null:
    works = len(f.read(8)) == 8 and null.write(b"x") == 1
try:
    open("/dev/evil", "w")
    wrote = True
except OSError:
    wrote = False
print(json.dumps({"dev": sorted(os.listdir("/dev")), "works": works, "wrote": wrote}))
"""
EXPECTED = ["fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "urandom", "zero"]


@pytest.fixture
def nodev_root(tmp_path: Path) -> Iterator[Path]:
    """A sandbox root on a tmpfs mounted nodev: device nodes there cannot be opened."""
    root = tmp_path / "nodev"
    root.mkdir(mode=0o700)
    if _libc.mount(b"tmpfs", os.fsencode(root), b"tmpfs", MS_NODEV, b"mode=0700") != 0:
        pytest.fail(f"cannot mount a tmpfs: {os.strerror(ctypes.get_errno())}")
    yield root
    _libc.umount2(os.fsencode(root), 2)


def test_the_folder_holds_the_devices_and_only_root_may_change_it(tmp_path: Path) -> None:
    folder = device_folder(tmp_path)
    assert folder == tmp_path / FOLDER
    info = folder.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o755)
    for name in DEVICES:
        node = (folder / name).lstat()
        assert stat.S_ISCHR(node.st_mode)
        assert node.st_rdev == os.stat(f"/dev/{name}").st_rdev
        assert stat.S_IMODE(node.st_mode) == 0o666
    assert os.readlink(folder / "fd") == "/proc/self/fd"
    assert device_folder(tmp_path) == folder  # made once: the second call keeps it
    assert sorted(os.listdir(tmp_path)) == [FOLDER]  # nothing else left


def test_a_folder_not_as_expected_is_made_again(tmp_path: Path) -> None:
    folder = device_folder(tmp_path)
    assert folder is not None
    (folder / "null").unlink()
    (folder / "null").write_text("not a device")
    (folder / "extra").mkdir()
    assert device_folder(tmp_path) == folder
    assert stat.S_ISCHR((folder / "null").lstat().st_mode)
    assert not (folder / "extra").exists()


def test_a_nodev_filesystem_gets_no_folder(nodev_root: Path) -> None:
    assert device_folder(nodev_root) is None
    assert os.listdir(nodev_root) == []


@pytest.mark.parametrize("where", ["folder", "node by node"])
async def test_the_program_sees_the_same_dev_either_way(
    where: str, tmp_path: Path, nodev_root: Path, sandbox_jobs: SandboxJobs
) -> None:
    root = tmp_path / "sandboxes" if where == "folder" else nodev_root / "sandboxes"
    runner = LocalSandboxRunner(
        LocalRunnerSettings(
            sandbox_root=root, cgroup_parent=SANDBOX_CGROUP_PARENT, warm_pool_size=0
        )
    )
    try:
        result = await runner.run(sandbox_jobs(SCRIPT))
    finally:
        await runner.close()
    assert result.end_reason is EndReason.COMPLETED, result
    assert (root / FOLDER).exists() is (where == "folder")
    seen = json.loads(result.stdout)
    assert seen == {"dev": EXPECTED, "works": True, "wrote": False}
