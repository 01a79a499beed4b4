"""An execution's folder on the host: sources/ (bound read-only at /sandbox) and tmp/ (a tmpfs of
the execution's tmp size, its /tmp). Made before the sandbox, removed after it."""

import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from sandpod.adapters.sandbox.bwrap import SANDBOX_GID, SANDBOX_UID, WORKDIR
from sandpod.adapters.sandbox.commands import BUILD_DIR
from sandpod.adapters.sandbox.phase import PlatformFault
from sandpod.adapters.sandbox.scratch import (
    ScratchError,
    mount_scratch,
    unmount_scratch,
)
from sandpod.domain.files import OUTPUT_DIR

logger = logging.getLogger(__name__)


def _check_private(root: Path) -> None:
    """The sandbox root (under /tmp by default) must not be someone else's: whoever controls
    it could swap an execution folder for a link before bwrap mounts the sources."""
    info = root.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise PlatformFault(
            f"sandbox root {root} must be a directory owned by this user and writable by no "
            "one else"
        )


def _seed(source: Path, dest: Path) -> None:
    """Copy a prepared folder into the sandbox's /tmp (counts against its size), as its user."""
    shutil.copytree(source, dest, symlinks=True)
    for path in [dest, *dest.rglob("*")]:
        os.chown(path, SANDBOX_UID, SANDBOX_GID, follow_symlinks=False)


class Workdir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sources = path / "sources"
        self.tmp = path / "tmp"
        self._mounted = False

    @classmethod
    def make(
        cls, root: Path, prefix: str, tmp_bytes: int, *, seed: Mapping[str, Path]
    ) -> "Workdir":
        """An empty sources/ (world-readable: the sandbox user reads it through a bind mount)
        and a mounted tmp/ holding the folders the compiler and the program expect, and the
        toolchain's `seed` (its Toolchain.tmp_seed)."""
        workdir: Workdir | None = None
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            _check_private(root)
            # mkdtemp makes it 0700: only root on the host may enter.
            workdir = cls(Path(tempfile.mkdtemp(prefix=prefix, dir=root)))
            workdir.sources.mkdir(mode=0o755)
            workdir.tmp.mkdir(mode=0o700)
            mount_scratch(workdir.tmp, tmp_bytes, SANDBOX_UID, SANDBOX_GID)
            workdir._mounted = True
            for folder in (BUILD_DIR, OUTPUT_DIR):
                made = workdir.tmp / Path(folder).relative_to(WORKDIR)
                made.mkdir(mode=0o755)
                os.chown(made, SANDBOX_UID, SANDBOX_GID)
            for dest, source in seed.items():
                _seed(source, workdir.tmp / dest)
        except (ScratchError, OSError) as exc:
            if workdir is not None:
                workdir.remove()
            if isinstance(exc, ScratchError):
                raise PlatformFault(str(exc)) from exc
            raise PlatformFault(f"cannot prepare the sandbox folder in {root}: {exc}") from exc
        return workdir

    def write_sources(self, files: Iterable[tuple[str, bytes]]) -> None:
        """The submitted files, read-only for everyone (names were checked by the API)."""
        try:
            for name, data in files:
                path = self.sources / name
                path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                path.write_bytes(data)
                path.chmod(0o444)
        except OSError as exc:
            raise PlatformFault(f"cannot write the program's files: {exc}") from exc

    def remove(self) -> None:
        if self._mounted:
            try:
                unmount_scratch(self.tmp)
            except ScratchError:
                logger.exception("cannot unmount the tmpfs at %s", self.tmp)
                return  # never delete through a mount that is still there
            self._mounted = False
        shutil.rmtree(self.path, ignore_errors=True)
