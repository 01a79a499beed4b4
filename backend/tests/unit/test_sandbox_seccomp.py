import errno
import struct

import pytest

from sandpod.adapters.sandbox.seccomp import ARCHES, BLOCKED, Arch, build_filter

ALLOW = 0x7FFF0000
EPERM = 0x00050000 | errno.EPERM


def run_bpf(program: bytes, arch: int, nr: int) -> int:
    """A tiny classic-BPF interpreter for the instructions the builder emits."""
    insns = [struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    data = {0: nr, 4: arch}
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:  # ld [k]
            acc = data[k]
        elif code == 0x15:  # jeq #k
            pc += jt if acc == k else jf
        elif code == 0x35:  # jge #k
            pc += jt if acc >= k else jf
        elif code == 0x06:  # ret #k
            return int(k)
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")
        pc += 1


@pytest.mark.parametrize("machine", sorted(ARCHES))
def test_blocked_calls_fail_with_eperm_and_others_pass(machine: str) -> None:
    arch = ARCHES[machine]
    program = build_filter(arch)
    for name in BLOCKED:
        assert run_bpf(program, arch.audit_arch, arch.syscalls[name]) == EPERM, name
    for nr in (0, 1, 2, 3, 56, 57, 59, 60, 231):  # read, write, open, close, clone, fork...
        assert run_bpf(program, arch.audit_arch, nr) == ALLOW


def test_foreign_architecture_and_x32_are_refused() -> None:
    arch = ARCHES["x86_64"]
    program = build_filter(arch)
    assert run_bpf(program, 0x40000003, 1) == EPERM  # i386 via int 0x80
    assert run_bpf(program, arch.audit_arch, 0x40000000 | 1) == EPERM  # x32 write


def test_jump_offsets_fit_any_blocklist_length() -> None:
    arch = Arch(audit_arch=1, syscalls={f"s{i}": 1000 + i for i in range(40)})
    program = build_filter(arch, tuple(arch.syscalls))
    assert run_bpf(program, 1, 1039) == EPERM
    assert run_bpf(program, 1, 999) == ALLOW
