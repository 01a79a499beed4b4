import asyncio

from sandpod.adapters.sandbox.cgroups import parse_flat_keyed, parse_procs
from sandpod.adapters.sandbox.output import read_capped


def stream(*chunks: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    reader.feed_eof()
    return reader


async def test_output_under_the_cap_is_kept_whole() -> None:
    overflows: list[int] = []
    captured = await read_capped(stream(b"abc", b"def"), 6, lambda: overflows.append(1))
    assert (captured.data, captured.truncated, overflows) == (b"abcdef", False, [])


async def test_output_over_the_cap_keeps_the_head_and_signals_once() -> None:
    overflows: list[int] = []
    chunks = [b"x" * 1000] * 50
    captured = await read_capped(stream(*chunks), 2500, lambda: overflows.append(1))
    assert captured.data == b"x" * 2500
    assert captured.truncated
    assert overflows == [1]


async def test_text_is_utf8_with_replacement() -> None:
    captured = await read_capped(stream("héllo ✓".encode(), b"\xff\xfe"), 100, lambda: None)
    assert captured.text() == "héllo ✓\ufffd\ufffd"


async def test_a_cut_inside_a_character_is_replaced_not_an_error() -> None:
    captured = await read_capped(stream("✓✓".encode()), 4, lambda: None)
    assert captured.text() == "✓\ufffd"


def test_cgroup_file_parsing() -> None:
    assert parse_flat_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n") == {
        "oom_kill_disable": 0,
        "under_oom": 0,
        "oom_kill": 2,
    }
    assert parse_flat_keyed("usage_usec 1500\nbroken line here\n") == {"usage_usec": 1500}
    assert parse_procs("12\n345\n\n") == [12, 345]
