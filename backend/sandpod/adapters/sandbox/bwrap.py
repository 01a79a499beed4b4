"""The bubblewrap command line for one execution. Pure: building it touches nothing."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sandpod.adapters.sandbox.devices import DEVICES, FD_LINKS

SANDBOX_UID = 65534  # nobody inside the sandbox, and (see userns.py) on the host as well
SANDBOX_GID = 65534
SOURCE_DIR = "/sandbox"  # the submitted files, read-only
# Paths inside the sandbox: /tmp (and /dev/shm) are private tmpfs mounts with a size cap.
# Paths inside the sandbox, each its own tmpfs: not host temp files (S108/B108 do not apply).
WORKDIR = "/tmp"  # noqa: S108  # nosec B108
SHM_DIR = "/dev/shm"  # noqa: S108  # nosec B108
ROOT_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass(frozen=True)
class RootEntry:
    """A top-level path the sandbox needs besides /usr: a symlink (merged /usr) or a bind."""

    name: str
    symlink_target: str | None = None  # e.g. "usr/bin"; None means bind the host directory


@dataclass(frozen=True)
class BwrapSpec:
    bwrap: str
    command: Sequence[str]
    sources: Path  # host folder of the submitted files, bound read-only at SOURCE_DIR
    tmp: Path  # host folder (a size-capped tmpfs the runner mounted) bound writable at /tmp
    shm_bytes: int
    env: Mapping[str, str]
    userns_fd: int
    block_fd: int
    status_fd: int
    seccomp_fd: int | None = None
    root_entries: Sequence[RootEntry] = field(default_factory=tuple)
    binds: Sequence[Path] = field(default_factory=tuple)  # toolchain paths, read-only, same path
    chdir: str = WORKDIR
    dev_folder: Path | None = None  # devices.py; None: each device bound into a tmpfs


def sandbox_env(extra: Mapping[str, str], path: Sequence[str]) -> dict[str, str]:
    """The whole environment of the sandboxed program; nothing is inherited."""
    search = [*path, "/usr/local/bin", "/usr/bin", "/bin"]
    return {
        "PATH": ":".join(dict.fromkeys(search)),
        "HOME": WORKDIR,
        "TMPDIR": WORKDIR,
        "LANG": "C.UTF-8",
        # Numeric libraries start one thread per core; under a process limit that breaks them.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        **extra,
    }


def host_root_entries(root: Path = Path("/")) -> list[RootEntry]:
    """How /bin, /lib... look on this host, so the sandbox gets the same layout."""
    entries = []
    for name in ROOT_DIRS:
        path = root / name
        if path.is_symlink():
            entries.append(RootEntry(name, symlink_target=str(path.readlink())))
        elif path.is_dir():
            entries.append(RootEntry(name))
    return entries


def _under_usr(path: Path) -> bool:
    return path == Path("/usr") or Path("/usr") in path.parents


def build_argv(spec: BwrapSpec) -> list[str]:
    argv = [
        spec.bwrap,
        # Join the runner's user namespace (host root is not mapped to the sandbox user there);
        # --sync-fd makes bwrap close that descriptor before it starts the program.
        "--userns", str(spec.userns_fd),
        "--sync-fd", str(spec.userns_fd),
        # Every other namespace is new: no network at all, own pids, ipc, hostname, cgroup view.
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",  # no TIOCSTI into a terminal
        "--cap-drop", "ALL",
        "--uid", str(SANDBOX_UID),
        "--gid", str(SANDBOX_GID),
        "--hostname", "sandbox",
        "--ro-bind", "/usr", "/usr",
    ]  # fmt: skip
    for entry in spec.root_entries:
        if entry.symlink_target is not None:
            argv += ["--symlink", entry.symlink_target, f"/{entry.name}"]
        else:
            argv += ["--ro-bind", f"/{entry.name}", f"/{entry.name}"]
    for path in spec.binds:
        if not _under_usr(path):
            argv += ["--ro-bind", str(path), str(path)]
    # /dev: a few harmless devices and the /proc/self/fd links, no terminal, no devpts (bwrap's
    # --dev adds both). From devices.py's root-owned folder in one bind (its owner, not the
    # mount, keeps it unchangeable: a read-only remount would also make its nodes unusable), or
    # else node by node into a tmpfs that is then made read-only.
    argv += ["--proc", "/proc"]
    if spec.dev_folder is not None:
        argv += ["--dev-bind", str(spec.dev_folder), "/dev"]
    else:
        argv += ["--tmpfs", "/dev"]
        for device in DEVICES:
            argv += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
        for name, target in FD_LINKS:
            argv += ["--symlink", target, f"/dev/{name}"]
    argv += [
        "--bind", str(spec.tmp), WORKDIR,
        # POSIX shared memory (multiprocessing locks) gets its own capped tmpfs.
        "--size", str(spec.shm_bytes), "--tmpfs", SHM_DIR,
    ]  # fmt: skip
    if spec.dev_folder is None:
        argv += ["--remount-ro", "/dev"]  # not recursive: /dev/shm stays writable
    argv += [
        "--ro-bind", str(spec.sources), SOURCE_DIR,
        "--remount-ro", "/",
        "--chdir", spec.chdir,
        "--clearenv",
    ]  # fmt: skip
    for name, value in spec.env.items():
        argv += ["--setenv", name, value]
    argv += ["--json-status-fd", str(spec.status_fd), "--block-fd", str(spec.block_fd)]
    if spec.seccomp_fd is not None:
        argv += ["--seccomp", str(spec.seccomp_fd)]
    argv += ["--", *spec.command]
    return argv
