"""Read the files a finished program left in its output folder, within the caps, safely.

The folder was written by untrusted code: links are never followed (a link to /etc/shadow is
skipped, not read as root), only regular files are read, names are checked like submitted ones,
and reading stops at the count and byte caps (the rest is reported as truncated).
"""

import mimetypes
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sandpod.domain.files import FieldError, StoredFile, check_file_name

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class OutputCaps:
    max_files: int
    max_bytes: int  # all kept files together


def content_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def _read_regular(directory_fd: int, name: str, room: int) -> bytes | None:
    """The file's bytes if it is a regular file of at most `room` bytes; None otherwise."""
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=directory_fd)
    except OSError:
        return None  # a link (ELOOP), a vanished or unreadable entry
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > room:
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(room + 1)
    finally:
        os.close(fd)


def collect_outputs(folder: Path, caps: OutputCaps) -> tuple[list[StoredFile], bool]:
    """Kept files (sorted by name) and whether anything was left out."""
    if not folder.is_dir() or folder.is_symlink():
        return [], folder.is_symlink()
    kept: list[StoredFile] = []
    truncated = False
    used = 0
    for directory, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        relative = Path(directory).relative_to(folder)
        try:
            directory_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            truncated = True
            continue
        try:
            for name in sorted(names):
                path = (relative / name).as_posix()
                try:
                    check_file_name(path, "output")
                except FieldError:
                    truncated = True
                    continue
                if len(kept) >= caps.max_files:
                    truncated = True
                    continue
                data = _read_regular(directory_fd, name, caps.max_bytes - used)
                if data is None or len(data) > caps.max_bytes - used:
                    truncated = True
                    continue
                used += len(data)
                kept.append(StoredFile(name=path, content_type=content_type(name), data=data))
        finally:
            os.close(directory_fd)
    return kept, truncated
