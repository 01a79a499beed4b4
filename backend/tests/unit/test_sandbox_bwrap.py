from pathlib import Path

import pytest

from sandpod.adapters.sandbox.bwrap import (
    SANDBOX_UID,
    BwrapSpec,
    RootEntry,
    build_argv,
    sandbox_env,
)
from sandpod.adapters.sandbox.interpreters import Interpreter, sandbox_command
from sandpod.domain.runtimes import python

PYENV = Interpreter(
    version="3.12",
    executable=Path("/root/.pyenv/versions/3.12.1/bin/python3.12"),
    prefix=Path("/root/.pyenv/versions/3.12.1"),
)
DEBIAN = Interpreter(version="3.11", executable=Path("/usr/bin/python3.11"), prefix=Path("/usr"))
MERGED_USR = (
    RootEntry("bin", "usr/bin"),
    RootEntry("lib", "usr/lib"),
    RootEntry("lib64", "usr/lib64"),
)


def spec(interpreter: Interpreter = PYENV, **changes: object) -> BwrapSpec:
    values: dict[str, object] = {
        "bwrap": "/usr/bin/bwrap",
        "interpreter": interpreter,
        "command": sandbox_command(python(interpreter.version), interpreter, "/sandbox/main.py"),
        "script": Path("/var/lib/sandpod/ex_1-ab12/main.py"),
        "script_name": "main.py",
        "tmp_bytes": 32 * 1024 * 1024,
        "env": sandbox_env(interpreter),
        "userns_fd": 5,
        "block_fd": 6,
        "status_fd": 7,
        "seccomp_fd": 8,
        "root_entries": MERGED_USR,
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


def test_filesystem_is_read_only_except_capped_tmpfs() -> None:
    argv = build_argv(spec())
    assert ("/usr", "/usr") in pairs(argv, "--ro-bind", 2)
    assert ("/root/.pyenv/versions/3.12.1",) * 2 in pairs(argv, "--ro-bind", 2)
    assert ("/var/lib/sandpod/ex_1-ab12/main.py", "/sandbox/main.py") in pairs(argv, "--ro-bind", 2)
    assert "--bind" not in argv  # nothing of the host is writable
    size = str(32 * 1024 * 1024)
    assert pairs(argv, "--size", 3) == [(size, "--tmpfs", "/tmp"), (size, "--tmpfs", "/dev/shm")]
    assert pairs(argv, "--proc") == [("/proc",)]
    assert pairs(argv, "--dev") == [("/dev",)]
    assert pairs(argv, "--remount-ro") == [("/dev",), ("/",)]
    assert pairs(argv, "--chdir") == [("/tmp",)]


def test_root_is_remounted_read_only_after_every_mount() -> None:
    opts = options(build_argv(spec()))
    last_mount = max(
        i for i, arg in enumerate(opts) if arg in {"--ro-bind", "--tmpfs", "--proc", "--dev"}
    )
    assert opts.index("/", opts.index("--remount-ro") + 2) > last_mount


def test_merged_usr_links_and_split_usr_binds() -> None:
    argv = build_argv(spec())
    assert pairs(argv, "--symlink", 2) == [
        ("usr/bin", "/bin"),
        ("usr/lib", "/lib"),
        ("usr/lib64", "/lib64"),
    ]
    split = build_argv(spec(root_entries=(RootEntry("lib"),)))
    assert ("/lib", "/lib") in pairs(split, "--ro-bind", 2)


def test_interpreter_under_usr_needs_no_extra_mount() -> None:
    argv = build_argv(spec(DEBIAN))
    assert [pair for pair in pairs(argv, "--ro-bind", 2) if pair[0] != pair[1]] == [
        ("/var/lib/sandpod/ex_1-ab12/main.py", "/sandbox/main.py")
    ]
    assert argv[argv.index("--") + 1 :] == ["/usr/bin/python3.11", "-I", "-u", "/sandbox/main.py"]


def test_environment_is_cleared_then_set_exactly() -> None:
    argv = build_argv(spec())
    opts = options(argv)
    assert opts.index("--clearenv") < opts.index("--setenv")
    env = {name: value for name, value in pairs(argv, "--setenv", 2)}
    assert env == {
        "PATH": "/root/.pyenv/versions/3.12.1/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
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
        "-I",
        "-u",
        "/sandbox/main.py",
    ]


def test_sandbox_command_refuses_a_mismatched_interpreter() -> None:
    with pytest.raises(ValueError, match="does not run"):
        sandbox_command(python("3.13"), PYENV, "/sandbox/main.py")
