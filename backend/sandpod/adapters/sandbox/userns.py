"""The user namespace every sandbox of a runner joins (bwrap --userns).

Why not let bwrap make one (--unshare-user)? Started by root, bwrap maps the sandbox uid to
host uid 0: the "nobody" inside would be root without capabilities outside, and plain DAC
checks against uid 0 then pass. It can write /proc/sys (core_pattern!) and read root-only
/proc files. Here the map is
    65534 -> 65534   the sandbox user is the host's nobody
        1 -> 0       host root stays mapped (not as 0) so bwrap, while it sets up mounts with
                     capabilities inside this namespace, can reach sources under /root
                     (pyenv); uid 0 itself is unmapped so dropping to 65534 keeps bwrap's
                     namespace capabilities until it drops them all before the program starts
and user.max_user_namespaces is 0 inside, so a sandbox cannot nest user namespaces.
"""

import os
import subprocess
import sys

_MAPS = "1 0 1\n65534 65534 1\n"

# Runs as root: unshare a user namespace, cap nesting inside it (the creator holds
# CAP_SYS_RESOURCE there), report, and stay alive until the parent has written the maps.
_HELPER = """\
import os, sys
os.unshare(os.CLONE_NEWUSER)
with open("/proc/sys/user/max_user_namespaces", "w") as f:
    f.write("0")
sys.stdout.write("ready\\n")
sys.stdout.flush()
sys.stdin.read()
"""


class UserNamespaceError(RuntimeError):
    pass


def create_sandbox_userns(timeout: float = 10.0) -> int:
    """A file descriptor of a fresh user namespace mapped as above (close-on-exec)."""
    helper = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed code)
        [sys.executable, "-I", "-S", "-c", _HELPER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={},
    )
    assert helper.stdin is not None
    assert helper.stdout is not None
    assert helper.stderr is not None
    try:
        if helper.stdout.readline().strip() != b"ready":
            helper.wait(timeout)
            detail = helper.stderr.read().decode(errors="replace").strip()
            raise UserNamespaceError(f"cannot create a user namespace: {detail}")
        try:
            for name in ("uid_map", "gid_map"):
                with open(f"/proc/{helper.pid}/{name}", "w") as handle:
                    handle.write(_MAPS)
            return os.open(f"/proc/{helper.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise UserNamespaceError(f"cannot map the sandbox user namespace: {exc}") from exc
    finally:
        helper.stdin.close()
        try:
            helper.wait(timeout)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
        helper.stdout.close()
        helper.stderr.close()
