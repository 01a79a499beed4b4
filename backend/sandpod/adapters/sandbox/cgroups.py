"""Per-execution cgroups: limits in, usage out, kill everything, remove.

cgroup v1 (one hierarchy per controller, as on the machines we build on) and v2 (unified).
Sandboxes live in <controller mount>/<parent>/<name>; the parent is created on demand and kept.
"""

import contextlib
import errno
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CFS_PERIOD_US = 100_000
CPU_WEIGHT = 100  # cgroup v2's default weight; v1 shares are weight * 1024 / 100
# A warm sandbox starting ahead of need: it takes only CPU time nothing else wants, so a pool
# refilling never slows a running program (the claim sets CPU_WEIGHT again).
BACKGROUND_CPU_WEIGHT = 1
V1_REQUIRED = ("memory", "pids", "cpu")
V2_REQUIRED = ("memory", "pids", "cpu")
INSTALL_HINT = "apt-get install cgroupfs-mount (or boot with the unified cgroup v2 hierarchy)"


class CgroupError(RuntimeError):
    """A cgroup could not be created, limited, joined or read."""


@dataclass(frozen=True)
class CgroupLimits:
    memory_bytes: int
    pids: int
    cpu_cores: float = 1.0
    cpu_weight: int = CPU_WEIGHT  # against the other sandboxes (1..10000, as in cgroup v2)


@dataclass(frozen=True)
class CgroupUsage:
    peak_memory_bytes: int = 0
    cpu_seconds: float = 0.0
    oom_kills: int = 0
    memory_limit_hits: int = 0


class SandboxCgroup(Protocol):
    def add(self, pid: int) -> None: ...

    def set_limits(self, limits: CgroupLimits, *, before: CgroupLimits | None = None) -> None:
        """Write `limits`; with `before` (what was written last), only what differs."""
        ...

    def reset_peak(self) -> None:
        """Start the peak memory figure afresh (a warm sandbox's claim); best effort."""
        ...

    def memory_bytes(self) -> int: ...

    def cpu_seconds(self) -> float: ...

    def usage(self) -> CgroupUsage: ...

    def pids(self) -> list[int]: ...

    def kill_all(self) -> None: ...

    def remove(self) -> bool:
        """Remove every directory; False while some still hold processes."""
        ...


class Cgroups(Protocol):
    version: int

    def check(self) -> None:
        """Raise CgroupError (naming what to install) when a needed controller is missing."""
        ...

    def create(self, name: str, limits: CgroupLimits) -> SandboxCgroup: ...

    def parents(self) -> list[Path]:
        """The folders the sandbox cgroups are made in (one per mounted hierarchy)."""
        ...


def parse_flat_keyed(text: str) -> dict[str, int]:
    """'key value' lines (memory.oom_control, memory.events, cpu.stat) into a dict."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            values[key] = int(value.strip())
    return values


def parse_procs(text: str) -> list[int]:
    return [int(line) for line in text.split() if line.strip().isdigit()]


def _write(path: Path, value: str) -> None:
    try:
        with path.open("w") as handle:
            handle.write(value)
    except OSError as exc:
        raise CgroupError(f"cannot write {value!r} to {path}: {exc.strerror or exc}") from exc


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _read_int(path: Path) -> int:
    try:
        return int(_read(path).strip() or 0)
    except ValueError:
        return 0


def _kill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()
    except FileNotFoundError:
        return True
    except OSError as exc:
        if exc.errno in (errno.EBUSY, errno.ENOTEMPTY):
            return False
        raise CgroupError(f"cannot remove {path}: {exc.strerror or exc}") from exc
    return True


def _mkdir(path: Path, *, exist_ok: bool = False) -> Path:
    try:
        path.mkdir(exist_ok=exist_ok)
    except OSError as exc:
        raise CgroupError(f"cannot create cgroup {path}: {exc.strerror or exc}") from exc
    return path


STALE_AFTER_SECONDS = 600.0


def remove_stale(parents: list[Path], *, older_than: float = STALE_AFTER_SECONDS) -> int:
    """Remove sandbox cgroups a crashed runner left behind; returns how many went.

    Only empty ones can go (rmdir refuses a cgroup with processes), and only old ones, so a
    cgroup another live runner has just made and not yet entered is never taken from it.
    """
    removed = 0
    cutoff = time.time() - older_than
    for parent in parents:
        if not parent.is_dir():
            continue
        for child in parent.iterdir():
            try:
                fresh = child.stat().st_mtime > cutoff
            except FileNotFoundError:
                continue
            if child.is_dir() and not fresh and _rmdir(child):
                removed += 1
    return removed


def _make(base: Path, name: str) -> Path:
    return _mkdir(_mkdir(base, exist_ok=True) / name)


class _V1Cgroup:
    def __init__(self, dirs: dict[str, Path]) -> None:
        self._dirs = dirs  # controller -> directory (co-mounted controllers share one)

    def _unique(self) -> list[Path]:
        return list(dict.fromkeys(self._dirs.values()))

    def add(self, pid: int) -> None:
        for path in self._unique():
            _write(path / "cgroup.procs", str(pid))

    def set_limits(self, limits: CgroupLimits, *, before: CgroupLimits | None = None) -> None:
        memory = self._dirs["memory"]
        if before is None or before.memory_bytes != limits.memory_bytes:
            value = str(limits.memory_bytes)
            swap = memory / "memory.memsw.limit_in_bytes"
            # memory+swap equal to memory: the sandbox never swaps its way past the limit. The
            # kernel wants memsw >= memory at every step: raising, memsw goes first; lowering,
            # last.
            raising = limits.memory_bytes > _read_int(memory / "memory.limit_in_bytes")
            steps = [("memory.limit_in_bytes", value)]
            if swap.exists():
                swap_step = ("memory.memsw.limit_in_bytes", value)
                steps = [swap_step, *steps] if raising else [*steps, swap_step]
            for name, text in steps:
                _write(memory / name, text)
        if before is None or before.pids != limits.pids:
            _write(self._dirs["pids"] / "pids.max", str(limits.pids))
        cpu = self._dirs["cpu"]
        if before is None or before.cpu_cores != limits.cpu_cores:
            _write(cpu / "cpu.cfs_period_us", str(CFS_PERIOD_US))
            _write(cpu / "cpu.cfs_quota_us", str(int(CFS_PERIOD_US * limits.cpu_cores)))
        if before is None or before.cpu_weight != limits.cpu_weight:
            _write(cpu / "cpu.shares", str(max(2, limits.cpu_weight * 1024 // 100)))

    def reset_peak(self) -> None:
        with contextlib.suppress(CgroupError):
            _write(self._dirs["memory"] / "memory.max_usage_in_bytes", "0")

    def memory_bytes(self) -> int:
        return _read_int(self._dirs["memory"] / "memory.usage_in_bytes")

    def cpu_seconds(self) -> float:
        acct = self._dirs.get("cpuacct")
        return _read_int(acct / "cpuacct.usage") / 1e9 if acct else 0.0

    def usage(self) -> CgroupUsage:
        memory = self._dirs["memory"]
        oom = parse_flat_keyed(_read(memory / "memory.oom_control"))
        return CgroupUsage(
            peak_memory_bytes=_read_int(memory / "memory.max_usage_in_bytes"),
            cpu_seconds=self.cpu_seconds(),
            oom_kills=oom.get("oom_kill", 0),
            memory_limit_hits=_read_int(memory / "memory.failcnt"),
        )

    def pids(self) -> list[int]:
        return parse_procs(_read(self._dirs["pids"] / "cgroup.procs"))

    def kill_all(self) -> None:
        seen: set[int] = set()
        for path in self._unique():
            seen.update(parse_procs(_read(path / "cgroup.procs")))
        _kill(seen)

    def remove(self) -> bool:
        return all([_rmdir(path) for path in self._unique()])


class CgroupsV1:
    version = 1

    def __init__(self, root: Path, parent: str) -> None:
        self._root = root
        self._parent = parent

    def _controllers(self) -> dict[str, Path]:
        found = {}
        for name in (*V1_REQUIRED, "cpuacct"):
            mount = self._root / name
            if (mount / "cgroup.procs").exists():
                found[name] = mount.resolve()  # "cpu" may be a link to "cpu,cpuacct"
        return found

    def check(self) -> None:
        found = self._controllers()
        missing = [name for name in V1_REQUIRED if name not in found]
        if missing:
            raise CgroupError(
                f"cgroup v1 controller(s) {', '.join(missing)} not mounted under {self._root}: "
                + INSTALL_HINT
            )

    def parents(self) -> list[Path]:
        """Where this runner's sandbox cgroups live, one folder per mounted hierarchy."""
        return list(dict.fromkeys(mount / self._parent for mount in self._controllers().values()))

    def create(self, name: str, limits: CgroupLimits) -> SandboxCgroup:
        self.check()
        made: dict[Path, Path] = {}
        dirs: dict[str, Path] = {}
        cgroup = _V1Cgroup(dirs)
        try:
            for controller, mount in self._controllers().items():
                if mount not in made:
                    made[mount] = _make(mount / self._parent, name)
                dirs[controller] = made[mount]
            cgroup.set_limits(limits)
        except CgroupError:
            cgroup.remove()
            raise
        return cgroup


class _V2Cgroup:
    def __init__(self, path: Path) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        return self._path

    def add(self, pid: int) -> None:
        _write(self._path / "cgroup.procs", str(pid))

    def set_limits(self, limits: CgroupLimits, *, before: CgroupLimits | None = None) -> None:
        if before is None or before.memory_bytes != limits.memory_bytes:
            _write(self._path / "memory.max", str(limits.memory_bytes))
            if (self._path / "memory.swap.max").exists():
                _write(self._path / "memory.swap.max", "0")
        if before is None or before.pids != limits.pids:
            _write(self._path / "pids.max", str(limits.pids))
        if before is None or before.cpu_cores != limits.cpu_cores:
            quota = int(CFS_PERIOD_US * limits.cpu_cores)
            _write(self._path / "cpu.max", f"{quota} {CFS_PERIOD_US}")
        if before is None or before.cpu_weight != limits.cpu_weight:
            _write(self._path / "cpu.weight", str(limits.cpu_weight))

    def reset_peak(self) -> None:
        # Linux 6.12+ resets memory.peak for the writer's open file only: nothing to do here,
        # so a warm sandbox's peak on cgroup v2 includes its interpreter's start.
        return

    def memory_bytes(self) -> int:
        return _read_int(self._path / "memory.current")

    def cpu_seconds(self) -> float:
        return parse_flat_keyed(_read(self._path / "cpu.stat")).get("usage_usec", 0) / 1e6

    def usage(self) -> CgroupUsage:
        events = parse_flat_keyed(_read(self._path / "memory.events"))
        return CgroupUsage(
            peak_memory_bytes=_read_int(self._path / "memory.peak"),  # Linux 5.19+
            cpu_seconds=self.cpu_seconds(),
            oom_kills=events.get("oom_kill", 0),
            memory_limit_hits=events.get("max", 0),
        )

    def pids(self) -> list[int]:
        return parse_procs(_read(self._path / "cgroup.procs"))

    def kill_all(self) -> None:
        kill_file = self._path / "cgroup.kill"  # Linux 5.14+: atomic, races no fork
        if kill_file.exists():
            _write(kill_file, "1")
        _kill(self.pids())

    def remove(self) -> bool:
        return _rmdir(self._path)


class CgroupsV2:
    version = 2

    def __init__(self, root: Path, parent: str) -> None:
        self._root = root
        self._parent = parent

    def check(self) -> None:
        available = _read(self._root / "cgroup.controllers").split()
        missing = [name for name in V2_REQUIRED if name not in available]
        if missing:
            raise CgroupError(
                f"cgroup v2 controller(s) {', '.join(missing)} not available in {self._root}"
            )

    def _enable(self, path: Path) -> None:
        enabled = _read(path / "cgroup.subtree_control").split()
        wanted = [f"+{name}" for name in V2_REQUIRED if name not in enabled]
        if wanted:
            _write(path / "cgroup.subtree_control", " ".join(wanted))

    def parents(self) -> list[Path]:
        return [self._root / self._parent]

    def create(self, name: str, limits: CgroupLimits) -> SandboxCgroup:
        self.check()
        base = _mkdir(self._root / self._parent, exist_ok=True)
        self._enable(self._root)
        self._enable(base)  # the parent holds no processes, so it may delegate controllers
        cgroup = _V2Cgroup(_mkdir(base / name))
        try:
            cgroup.set_limits(limits)
        except CgroupError:
            cgroup.remove()
            raise
        return cgroup


def open_cgroups(root: Path, parent: str) -> Cgroups:
    """v1 when the per-controller mounts exist (hybrid hosts too), else the unified v2 tree."""
    if (root / "memory" / "cgroup.procs").exists():
        return CgroupsV1(root, parent)
    if (root / "cgroup.controllers").exists():
        return CgroupsV2(root, parent)
    raise CgroupError(f"no cgroup filesystem is mounted at {root}: {INSTALL_HINT}")
