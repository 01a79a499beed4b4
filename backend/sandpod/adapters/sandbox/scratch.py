"""The writable /tmp of an execution: a size-capped tmpfs the runner mounts on the host.

bwrap's own --tmpfs would vanish with the sandbox. This one outlives both phases, so the compile
step's output reaches the run step and the files a program leaves in /tmp/out can be collected
after it has ended, while the kernel still caps everything written (compiler output, caches and
program files together) at the execution's tmp size.
"""

import ctypes
import ctypes.util
import os
from pathlib import Path

MS_NOSUID = 0x2
MS_NODEV = 0x4
MNT_DETACH = 0x2

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class ScratchError(OSError):
    """The scratch tmpfs could not be mounted."""


def mount_scratch(path: Path, size_bytes: int, uid: int, gid: int) -> None:
    """Mount a tmpfs of `size_bytes` at `path`, owned by the sandbox user, private to it."""
    options = f"size={size_bytes},mode=0700,uid={uid},gid={gid},nr_inodes=16384"
    done = _libc.mount(
        b"sandpod-tmp", os.fsencode(path), b"tmpfs", MS_NOSUID | MS_NODEV, options.encode()
    )
    if done != 0:
        errno = ctypes.get_errno()
        raise ScratchError(errno, f"cannot mount the sandbox tmpfs at {path}: {os.strerror(errno)}")


def unmount_scratch(path: Path) -> None:
    """Detach the tmpfs (lazily: a straggler still holding it cannot block the cleanup)."""
    if _libc.umount2(os.fsencode(path), MNT_DETACH) != 0:
        errno = ctypes.get_errno()
        if errno not in (22, 2):  # EINVAL: not mounted; ENOENT: already gone
            raise ScratchError(errno, f"cannot unmount {path}: {os.strerror(errno)}")


def mounts_under(root: Path, mountinfo: str | None = None) -> list[Path]:
    """Mount points below `root` (a crashed runner's leftovers), deepest first."""
    text = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
    found = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            point = Path(fields[4].encode().decode("unicode_escape"))
            if root in point.parents:
                found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)
