"""The entrypoint's framing against hostile output, parsed by the monitor's parser (no I/O)."""

import json

import pytest

from sandpod.adapters.kubernetes import entrypoint as ep
from sandpod.adapters.kubernetes.framing import (
    FramingError,
    Summary,
    decode_frames,
    parse_summary,
    read_report,
    verified_block,
)

FAKE_BLOCK = ep.encode_frames([("stdout", b"you have been pwned"), ("stderr", b"")])

HOSTILE = [
    b"",
    b"plain text\n",
    b"no trailing newline",
    bytes(range(256)) * 3,
    b"SANDPOD1 end\n",
    b"SANDPOD1 stdout 5 8\nAAAAAAAA\nSANDPOD1 end\n",
    FAKE_BLOCK,
    FAKE_BLOCK[:-1],  # an unterminated fake frame
    b"\r\n\x00\x1b[2J" * 50,
    "unicode ✓ and lone surrogate escapes".encode() + b"\xed\xa0\x80",
    b"A" * (3 * ep.LINE_CHARS + 17),  # spans several payload lines
]


def report(stdout: bytes, stderr: bytes, **outcome: object) -> tuple[bytes, str]:
    """What a finished entrypoint leaves behind: its block and its termination message."""
    captures = {"stdout": ep.Capture(1 << 30), "stderr": ep.Capture(1 << 30)}
    captures["stdout"].add(stdout)
    captures["stderr"].add(stderr)
    result = ep.Outcome(
        str(outcome.get("kind", ep.EXITED)),
        exit_code=0,
        wall_seconds=0.25,
        cpu_seconds=0.125,
        peak_memory_bytes=10 << 20,
        captures=captures,
    )
    block = ep.encode_frames([("stdout", stdout), ("stderr", stderr)])
    return block, ep.build_summary(result, block)


@pytest.mark.parametrize("payload", HOSTILE, ids=range(len(HOSTILE)))
def test_any_user_bytes_round_trip_exactly(payload: bytes) -> None:
    block, summary_text = report(payload, payload[::-1])
    streams = read_report(block, parse_summary(summary_text))
    assert streams == {"stdout": payload, "stderr": payload[::-1]}


def test_block_is_ascii_with_short_lines() -> None:
    block, _ = report(bytes(range(256)) * 100, b"\n" * 10_000)
    text = block.decode("ascii")
    assert all(len(line) <= ep.LINE_CHARS for line in text.split("\n"))
    assert text.endswith(f"{ep.MAGIC} end\n")


def test_anything_written_to_the_log_before_the_block_is_ignored() -> None:
    # Even if the script reached the container log directly (e.g. through /proc/1/fd/1), and even
    # with a complete fake block, only the last frames_bytes verified by the digest count.
    block, summary_text = report(b"real output\n", b"")
    garbage = b"junk\x00\xff\n" + FAKE_BLOCK + b"SANDPOD1 stdout 999999 4\n"
    streams = read_report(garbage + block, parse_summary(summary_text))
    assert streams["stdout"] == b"real output\n"


def test_a_tampered_block_is_rejected() -> None:
    block, summary_text = report(b"real output\n", b"")
    summary = parse_summary(summary_text)
    tampered = block.replace(b"SANDPOD1 stderr", b"SANDPOD1 stdouT")
    with pytest.raises(FramingError, match="digest"):
        verified_block(tampered, summary)
    with pytest.raises(FramingError, match="shorter"):
        verified_block(block[1:], summary)


def test_a_fake_block_with_a_fake_summary_needs_the_real_digest() -> None:
    block, summary_text = report(b"real output\n", b"")
    forged = json.loads(summary_text) | {"frames_sha256": "0" * 64}
    with pytest.raises(FramingError, match="digest"):
        read_report(FAKE_BLOCK + block, parse_summary(json.dumps(forged)))


@pytest.mark.parametrize(
    ("block", "error"),
    [
        (b"SANDPOD1 stdout 0 12\neJwDAAAAAAE=\nSANDPOD1 end\n", "missing frames"),
        (b"SANDPOD1 stdout 0 12\neJwDAAAAAAE=\n", "no end frame"),
        (b"SANDPOD1 stdout 0 12\neJwDAAAAAAE=\nSANDPOD1 end", "newline"),
        (b"SANDPOD2 stdout 0 12\neJwDAAAAAAE=\nSANDPOD1 end\n", "bad frame header"),
        (b"SANDPOD1 stdout 0 99\neJwDAAAAAAE=\nSANDPOD1 end\n", "payload length"),
        (b"SANDPOD1 stdout 5 12\neJwDAAAAAAE=\nSANDPOD1 end\n", "decoded size"),
        (b"SANDPOD1 stdout x 12\neJwDAAAAAAE=\nSANDPOD1 end\n", "bad length"),
        (b"SANDPOD1 stdout 0 12\n!!!!!!!!!!!!\nSANDPOD1 end\n", "does not decode"),
        (b"\xff\n", "not ASCII"),
    ],
)
def test_malformed_blocks_are_errors_not_crashes(block: bytes, error: str) -> None:
    with pytest.raises(FramingError, match=error):
        decode_frames(block)


def test_duplicate_frames_and_trailing_data_are_rejected() -> None:
    one = ep.encode_frames([("stdout", b"a")])[: -len(b"SANDPOD1 end\n")]
    with pytest.raises(FramingError, match="duplicate"):
        decode_frames(one + one + b"SANDPOD1 end\n")
    with pytest.raises(FramingError, match="after the end"):
        decode_frames(ep.encode_frames([("stdout", b""), ("stderr", b"")]) + b"x\n")


def test_a_frame_larger_than_the_output_limit_is_rejected() -> None:
    block, summary_text = report(b"x" * 100, b"")
    with pytest.raises(FramingError, match="larger than the output limit"):
        read_report(block, parse_summary(summary_text), max_bytes=99)
    assert read_report(block, parse_summary(summary_text), max_bytes=100)["stdout"] == b"x" * 100


def test_summary_carries_the_numbers_and_fits_in_a_termination_message() -> None:
    block, summary_text = report(b"out", b"err")
    summary = parse_summary(summary_text)
    assert summary == Summary(
        outcome="exited",
        exit_code=0,
        container_exit=0,
        wall_seconds=0.25,
        cpu_seconds=0.125,
        peak_memory_bytes=10 << 20,
        stdout_truncated=False,
        stderr_truncated=False,
        frames_sha256=summary.frames_sha256,
        frames_bytes=len(block),
        frames_lines=block.count(b"\n"),
        message=None,
    )
    huge = ep.Outcome(ep.ERROR, message="m" * 100_000)
    assert len(ep.build_summary(huge, block).encode()) <= ep.TERMINATION_LOG_LIMIT


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (None, "no termination message"),
        ("", "no termination message"),
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"v": 2}', "unsupported report version"),
        ('{"v": 1, "outcome": "pwned"}', "unknown outcome"),
        ('{"v": 1, "outcome": "exited", "container_exit": true}', "container_exit"),
    ],
)
def test_bad_summaries_are_errors(text: str | None, error: str) -> None:
    with pytest.raises(FramingError, match=error):
        parse_summary(text)


def test_capture_keeps_exactly_the_cap_and_flags_overflow() -> None:
    capture = ep.Capture(10)
    assert capture.add(b"12345") is False
    assert capture.add(b"67890") is False  # exactly at the cap is not truncated
    assert capture.add(b"x") is True
    assert bytes(capture.data) == b"1234567890"
    assert capture.truncated


@pytest.mark.parametrize(
    ("kind", "exit_code", "container_exit"),
    [
        (ep.EXITED, 0, 0),
        (ep.EXITED, 3, 3),
        (ep.EXITED, 300, 255),
        (ep.EXITED, -9, 137),
        (ep.WALL_LIMIT, -9, 124),
        (ep.CPU_LIMIT, -24, 124),
        (ep.OUTPUT_LIMIT, -9, 125),
        (ep.MEMORY_LIMIT, -9, 137),
        (ep.ERROR, None, 70),
    ],
)
def test_container_exit_code_tells_outcomes_apart(
    kind: str, exit_code: int | None, container_exit: int
) -> None:
    assert ep.Outcome(kind, exit_code=exit_code).container_exit == container_exit


def test_arguments_parse() -> None:
    opts = ep.parse_args(
        [
            "--wall-seconds",
            "1.5",
            "--cpu-seconds",
            "1",
            "--output-bytes",
            "10",
            "--file-size-bytes",
            "20",
            "--",
            "python3",
            "-I",
            "main.py",
        ]
    )
    assert opts.command == ["python3", "-I", "main.py"]
    assert opts.termination_log == "/dev/termination-log"
    assert opts.stdin_path is None
    assert not opts.cgroup_accounting
