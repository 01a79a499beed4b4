from pathlib import Path

from sandpod.adapters.sandbox.bwrap import (
    SANDBOX_UID,
    BwrapSpec,
    RootEntry,
    build_argv,
)
from sandpod.adapters.sandbox.commands import compile_command, environment, run_command
from sandpod.adapters.sandbox.toolchains import Toolchain
from sandpod.domain.files import SourceFile
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.runtimes import python, runtime
from sandpod.ports import SandboxJob

PYENV = Toolchain(
    runtime_id="python:3.12",
    programs={"python3.12": Path("/root/.pyenv/versions/3.12.1/bin/python3.12")},
    binds=(Path("/root/.pyenv/versions/3.12.1"),),
    toolchains_dir=Path("/var/cache/toolchains"),
    installed_version="3.12.1",
)
DEBIAN = Toolchain(
    runtime_id="python:3.11",
    programs={"python3.11": Path("/usr/bin/python3.11")},
    binds=(),
    toolchains_dir=Path("/var/cache/toolchains"),
    installed_version="3.11.2",
)
MERGED_USR = (
    RootEntry("bin", "usr/bin"),
    RootEntry("lib", "usr/lib"),
    RootEntry("lib64", "usr/lib64"),
)


def job(version: str = "3.12", **changes: object) -> SandboxJob:
    values: dict[str, object] = {
        "execution_id": "ex_1",
        "runtime": python(version),
        "script": "print(1)",
        "stdin": "",
        "limits": DEFAULT_POLICY.defaults,
    }
    values.update(changes)
    return SandboxJob(**values)  # type: ignore[arg-type]  # builder: any field may be overridden


def spec(toolchain: Toolchain = PYENV, **changes: object) -> BwrapSpec:
    version = toolchain.runtime_id.split(":")[1]
    values: dict[str, object] = {
        "bwrap": "/usr/bin/bwrap",
        "command": run_command(job(version), toolchain),
        "sources": Path("/var/lib/sandpod/ex_1-ab12/sources"),
        "tmp": Path("/var/lib/sandpod/ex_1-ab12/tmp"),
        "shm_bytes": 32 * 1024 * 1024,
        "env": environment(python(version), toolchain, 128),
        "userns_fd": 5,
        "block_fd": 6,
        "status_fd": 7,
        "seccomp_fd": 8,
        "root_entries": MERGED_USR,
        "binds": toolchain.binds,
    }
    values.update(changes)
    return BwrapSpec(**values)  # type: ignore[arg-type]  # builder: any field may be overridden


def options(argv: list[str]) -> list[str]:
    """The bwrap part of the command line (before the program)."""
    return argv[: argv.index("--")]


def pairs(argv: list[str], flag: str, width: int = 1) -> list[tuple[str, ...]]:
    opts = options(argv)
    return [tuple(opts[i + 1 : i + 1 + width]) for i, arg in enumerate(opts) if arg == flag]


def test_every_namespace_is_new_and_the_user_namespace_is_the_runners() -> None:
    argv = build_argv(spec())
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"):
        assert flag in options(argv)
    assert pairs(argv, "--userns") == [("5",)]
    # The same descriptor as --sync-fd: bwrap closes it before it starts the program.
    assert pairs(argv, "--sync-fd") == [("5",)]
    assert "--unshare-user" not in argv  # would map the sandbox user to host root


def test_privileges_are_dropped() -> None:
    argv = build_argv(spec())
    assert pairs(argv, "--uid") == [(str(SANDBOX_UID),)]
    assert pairs(argv, "--gid") == [("65534",)]
    assert pairs(argv, "--cap-drop") == [("ALL",)]
    assert "--die-with-parent" in argv
    assert "--new-session" in argv
    assert pairs(argv, "--seccomp") == [("8",)]


def test_seccomp_is_optional() -> None:
    assert "--seccomp" not in build_argv(spec(seccomp_fd=None))


def test_filesystem_is_read_only_except_capped_tmp() -> None:
    argv = build_argv(spec())
    assert ("/usr", "/usr") in pairs(argv, "--ro-bind", 2)
    assert ("/root/.pyenv/versions/3.12.1",) * 2 in pairs(argv, "--ro-bind", 2)
    assert ("/var/lib/sandpod/ex_1-ab12/sources", "/sandbox") in pairs(argv, "--ro-bind", 2)
    # The one writable host path: the execution's own size-capped tmpfs (scratch.py).
    assert pairs(argv, "--bind", 2) == [("/var/lib/sandpod/ex_1-ab12/tmp", "/tmp")]
    size = str(32 * 1024 * 1024)
    assert pairs(argv, "--size", 3) == [(size, "--tmpfs", "/dev/shm")]
    assert pairs(argv, "--proc") == [("/proc",)]
    assert "--dev" not in argv  # bwrap's own /dev adds a tty and pseudo-terminals
    assert pairs(argv, "--tmpfs") == [("/dev",), ("/dev/shm",)]
    devices = ["null", "zero", "full", "random", "urandom"]
    assert pairs(argv, "--dev-bind", 2) == [(f"/dev/{name}",) * 2 for name in devices]
    assert pairs(argv, "--remount-ro") == [("/dev",), ("/",)]
    assert pairs(argv, "--chdir") == [("/tmp",)]


def test_root_is_remounted_read_only_after_every_mount() -> None:
    opts = options(build_argv(spec()))
    last_mount = max(
        i
        for i, arg in enumerate(opts)
        if arg in {"--ro-bind", "--bind", "--tmpfs", "--proc", "--dev-bind"}
    )
    assert opts.index("/", opts.index("--remount-ro") + 2) > last_mount


def test_merged_usr_links_and_split_usr_binds() -> None:
    argv = build_argv(spec())
    links = pairs(argv, "--symlink", 2)
    assert [link for link in links if not link[1].startswith("/dev/")] == [
        ("usr/bin", "/bin"),
        ("usr/lib", "/lib"),
        ("usr/lib64", "/lib64"),
    ]
    assert ("/proc/self/fd", "/dev/fd") in links
    split = build_argv(spec(root_entries=(RootEntry("lib"),)))
    assert ("/lib", "/lib") in pairs(split, "--ro-bind", 2)


def test_interpreter_under_usr_needs_no_extra_mount() -> None:
    argv = build_argv(spec(DEBIAN))
    assert [pair for pair in pairs(argv, "--ro-bind", 2) if pair[0] != pair[1]] == [
        ("/var/lib/sandpod/ex_1-ab12/sources", "/sandbox")
    ]
    assert argv[argv.index("--") + 1 :] == [
        "/usr/bin/python3.11",
        "-E",
        "-s",
        "-u",
        "/sandbox/main.py",
    ]


def test_environment_is_cleared_then_set_exactly() -> None:
    argv = build_argv(spec())
    opts = options(argv)
    assert opts.index("--clearenv") < opts.index("--setenv")
    env = {name: value for name, value in pairs(argv, "--setenv", 2)}
    assert env == {
        "PATH": "/root/.pyenv/versions/3.12.1/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def test_program_runs_after_the_block_and_reports_status() -> None:
    argv = build_argv(spec())
    assert pairs(argv, "--block-fd") == [("6",)]
    assert pairs(argv, "--json-status-fd") == [("7",)]
    assert argv[0] == "/usr/bin/bwrap"
    assert argv[argv.index("--") + 1 :] == [
        "/root/.pyenv/versions/3.12.1/bin/python3.12",
        "-E",
        "-s",
        "-u",
        "/sandbox/main.py",
    ]


def test_compile_and_run_commands_fill_their_placeholders() -> None:
    gcc = Toolchain(
        runtime_id="c:gcc-12",
        programs={"gcc": Path("/usr/bin/x86_64-linux-gnu-gcc-12")},
        binds=(),
        toolchains_dir=Path("/var/cache/toolchains"),
        installed_version="12.2.0",
    )
    c = job(
        runtime=runtime("c:gcc-12"),
        files=(
            SourceFile(name="main.c", content=""),
            SourceFile(name="util.c", content=""),
            SourceFile(name="util.h", content=""),
        ),
        args=("--verbose", "x y"),
        compiler_options=("-O0", "-Wall"),
    )
    assert compile_command(c, gcc) == [
        "/usr/bin/x86_64-linux-gnu-gcc-12",
        "-std=gnu17",
        "-O2",
        "-pipe",
        "-O0",
        "-Wall",
        "-o",
        "/tmp/.build/main",
        "/sandbox/main.c",
        "/sandbox/util.c",
        "-lm",
    ]
    assert run_command(c, gcc) == ["/tmp/.build/main", "--verbose", "x y"]
    assert compile_command(job(), PYENV) is None


def test_a_device_folder_is_one_bind_that_stays_usable() -> None:
    argv = build_argv(spec(dev_folder=Path("/var/lib/sandpod/.dev")))
    assert pairs(argv, "--dev-bind", 2) == [("/var/lib/sandpod/.dev", "/dev")]
    assert pairs(argv, "--tmpfs") == [("/dev/shm",)]
    # Read-only by its owner (root, 0755), not by the mount: a read-only remount adds nodev.
    assert pairs(argv, "--remount-ro") == [("/",)]
