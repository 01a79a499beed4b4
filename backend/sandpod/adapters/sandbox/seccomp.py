"""A small seccomp blocklist, compiled to classic BPF in pure Python (for bwrap --seccomp).

Every sandbox shares one user namespace and the same uid, so what the kernel keys by
(user namespace, uid) would be shared between executions: the user keyring above all.
The keyring calls are therefore refused, as are a few rarely needed, often exploited
kernel interfaces (io_uring, bpf, perf events, userfaultfd), as Docker's default profile does.
"""

import errno
import platform
import struct
from dataclasses import dataclass

# <linux/filter.h>, <linux/seccomp.h>, <linux/audit.h>
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_OFFSET_NR = 0
_OFFSET_ARCH = 4
_X32_SYSCALL_BIT = 0x40000000

BLOCKED = (
    "add_key",
    "request_key",
    "keyctl",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "bpf",
    "perf_event_open",
    "userfaultfd",
)


@dataclass(frozen=True)
class Arch:
    audit_arch: int
    syscalls: dict[str, int]
    has_x32: bool = False


ARCHES: dict[str, Arch] = {
    "x86_64": Arch(
        audit_arch=0xC000003E,
        syscalls={
            "add_key": 248,
            "request_key": 249,
            "keyctl": 250,
            "perf_event_open": 298,
            "bpf": 321,
            "userfaultfd": 323,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
        },
        has_x32=True,
    ),
    "aarch64": Arch(
        audit_arch=0xC00000B7,
        syscalls={
            "add_key": 217,
            "request_key": 218,
            "keyctl": 219,
            "perf_event_open": 241,
            "bpf": 280,
            "userfaultfd": 282,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
        },
    ),
}


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def build_filter(arch: Arch, blocked: tuple[str, ...] = BLOCKED) -> bytes:
    """A program that fails the blocked calls (and any foreign-ABI call) with EPERM."""
    checks = [(_JEQ_K, arch.syscalls[name]) for name in blocked]
    if arch.has_x32:
        checks.insert(0, (_JGE_K, _X32_SYSCALL_BIT))  # x32 numbers alias the 64-bit table
    n = len(checks)
    # [0] ld arch  [1] jeq arch  [2] ld nr  [3..n+2] checks  [n+3] allow  [n+4] errno
    program = [
        _insn(_LD_W_ABS, _OFFSET_ARCH),
        # A foreign architecture (e.g. int 0x80 from a 64-bit process) goes to the errno return.
        _insn(_JEQ_K, arch.audit_arch, jt=0, jf=n + 2),
        _insn(_LD_W_ABS, _OFFSET_NR),
    ]
    # A jump counts from the next instruction: check i jumps over n - 1 - i checks and the allow.
    program += [_insn(code, k, jt=n - i, jf=0) for i, (code, k) in enumerate(checks)]
    program += [_insn(_RET_K, _RET_ALLOW), _insn(_RET_K, _RET_ERRNO | errno.EPERM)]
    return b"".join(program)


def host_filter() -> bytes | None:
    """The filter for this machine's architecture; None where no table is known."""
    arch = ARCHES.get(platform.machine())
    return build_filter(arch) if arch else None
