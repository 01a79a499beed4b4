"""The sandbox's /dev: a folder of the host's harmless device nodes, bound at /dev as a whole.

Binding each device into a tmpfs (bwrap --dev-bind per node, then --remount-ro /dev) costs a
mount, a re-read of the mount table and a remount per node: ~0.8 ms of every sandbox's start.
Instead the runner makes the nodes once, in a folder of its sandbox root that only root may
change (0755, root's: the sandbox user can use the devices, never add, remove or replace one),
and bwrap binds that one folder. A sandbox root on a filesystem mounted nodev cannot hold
usable device nodes; there the per-node binds are used (bwrap.py).
"""

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

DEVICES = ("null", "zero", "full", "random", "urandom")
FD_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"))  # fmt: skip
SHM = "shm"  # the mount point of the sandbox's own /dev/shm tmpfs
FOLDER = ".dev"


def _expected(host_dev: Path) -> dict[str, int]:
    return {name: os.stat(host_dev / name).st_rdev for name in DEVICES}


def _is_complete(folder: Path, rdevs: dict[str, int]) -> bool:
    """Exactly the nodes, links and mount point made below, owned by root, unchangeable."""
    try:
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o7777 != 0o755:
            return False
        names = {*DEVICES, SHM, *(name for name, _ in FD_LINKS)}
        if set(os.listdir(folder)) != names:
            return False
        for name, rdev in rdevs.items():
            node = (folder / name).lstat()
            if not stat.S_ISCHR(node.st_mode) or node.st_rdev != rdev or node.st_uid != 0:
                return False
            if node.st_mode & 0o7777 != 0o666:
                return False
        shm = (folder / SHM).lstat()
        if not stat.S_ISDIR(shm.st_mode) or shm.st_uid != 0 or shm.st_mode & 0o022:
            return False
        return all(os.readlink(folder / name) == target for name, target in FD_LINKS)
    except OSError:
        return False


def _usable(folder: Path) -> bool:
    """Whether the nodes work here (a nodev filesystem refuses to open them)."""
    try:
        with open(folder / "null", "wb") as null:
            null.write(b"")
        return True
    except OSError:
        return False


def _make(parent: Path, rdevs: dict[str, int]) -> Path:
    made = Path(tempfile.mkdtemp(prefix=".dev-", dir=parent))
    for name, rdev in rdevs.items():
        os.mknod(made / name, 0o666 | stat.S_IFCHR, rdev)
        os.chmod(made / name, 0o666)  # noqa: S103  # nosec B103  # devices everyone uses, as on the host
    (made / SHM).mkdir(mode=0o755)
    for name, target in FD_LINKS:
        os.symlink(target, made / name)
    os.chmod(made, 0o755)  # noqa: S103  # nosec B103  # root-owned: others only read
    return made


def device_folder(sandbox_root: Path, host_dev: Path = Path("/dev")) -> Path | None:
    """The folder to bind at /dev (made if missing or not as expected), or None where device
    nodes cannot work (then bwrap.py binds each device into a tmpfs)."""
    folder = sandbox_root / FOLDER
    rdevs = _expected(host_dev)
    if _is_complete(folder, rdevs):
        return folder if _usable(folder) else None
    made = _make(sandbox_root, rdevs)
    try:
        if not _usable(made):
            return None
        if folder.exists() or folder.is_symlink():  # left incomplete: replace it
            with contextlib.suppress(FileNotFoundError):
                if folder.is_dir() and not folder.is_symlink():
                    shutil.rmtree(folder)
                else:
                    folder.unlink()
        with contextlib.suppress(OSError):  # another runner may have made it just now
            made.rename(folder)
        return folder if _is_complete(folder, rdevs) else None
    finally:
        if made.exists():
            shutil.rmtree(made, ignore_errors=True)
