"""OutputLog contract: the in-process log and Redis streams keep, resume and end alike."""

import asyncio

from sandpod.domain.output import OutputChunk, OutputStream
from sandpod.ports import OutputLog

# Long enough to be sure a wait happens; a bound on hangs, not a speed requirement.
WAIT = 0.3


def chunk(seq: int, text: str = "", stream: OutputStream = OutputStream.STDOUT) -> OutputChunk:
    return OutputChunk(stream=stream, seq=seq, text=text or f"line {seq}\n")


async def test_a_reader_gets_every_chunk_after_the_one_it_names(output_log: OutputLog) -> None:
    written = [chunk(1), chunk(2, "oops\n", OutputStream.STDERR), chunk(3)]
    await output_log.append("ex_1", written)
    everything = await output_log.read("ex_1", after=0, wait_seconds=0)
    assert list(everything.chunks) == written
    assert not everything.ended
    resumed = await output_log.read("ex_1", after=2, wait_seconds=0)
    assert list(resumed.chunks) == written[2:]


async def test_the_end_is_read_after_the_last_chunk(output_log: OutputLog) -> None:
    await output_log.append("ex_1", [chunk(1), chunk(2)])
    await output_log.end("ex_1", 2)
    read = await output_log.read("ex_1", after=1, wait_seconds=WAIT)
    assert [c.seq for c in read.chunks] == [2]
    assert read.ended
    rest = await output_log.read("ex_1", after=2, wait_seconds=WAIT)
    assert (list(rest.chunks), rest.ended) == ([], True)


async def test_the_last_chunks_go_with_the_end(output_log: OutputLog) -> None:
    await output_log.append("ex_1", [chunk(1)])
    await output_log.end("ex_1", 3, [chunk(2), chunk(3)])
    read = await output_log.read("ex_1", after=1, wait_seconds=WAIT)
    assert ([c.seq for c in read.chunks], read.ended) == ([2, 3], True)


async def test_an_execution_without_output_ends_empty(output_log: OutputLog) -> None:
    await output_log.end("ex_quiet", 0)
    read = await output_log.read("ex_quiet", after=0, wait_seconds=WAIT)
    assert (list(read.chunks), read.ended) == ([], True)


async def test_a_waiting_reader_wakes_for_a_chunk_written_later(output_log: OutputLog) -> None:
    reader = asyncio.create_task(output_log.read("ex_1", after=0, wait_seconds=1.5))
    await asyncio.sleep(0.1)  # the reader is waiting by now (an early write passes too)
    await output_log.append("ex_1", [chunk(1, "late\n")])
    read = await reader
    assert [c.text for c in read.chunks] == ["late\n"]


async def test_an_unknown_execution_reads_empty_after_the_wait(output_log: OutputLog) -> None:
    read = await output_log.read("ex_unknown", after=0, wait_seconds=WAIT)
    assert (list(read.chunks), read.ended) == ([], False)


async def test_a_repeated_chunk_is_ignored(output_log: OutputLog) -> None:
    await output_log.append("ex_1", [chunk(1, "first\n"), chunk(2, "second\n")])
    await output_log.append("ex_1", [chunk(2, "again\n"), chunk(3, "third\n")])
    read = await output_log.read("ex_1", after=0, wait_seconds=0)
    assert [c.text for c in read.chunks] == ["first\n", "second\n", "third\n"]


async def test_fields_survive_the_trip(output_log: OutputLog) -> None:
    cut = OutputChunk(stream=OutputStream.STDERR, seq=1, text="ünï\x00code ✓", truncated=True)
    await output_log.append("ex_1", [cut])
    read = await output_log.read("ex_1", after=0, wait_seconds=0)
    assert list(read.chunks) == [cut]


async def test_executions_do_not_share_output(output_log: OutputLog) -> None:
    await output_log.append("ex_1", [chunk(1, "mine\n")])
    await output_log.end("ex_1", 1)
    read = await output_log.read("ex_2", after=0, wait_seconds=0)
    assert (list(read.chunks), read.ended) == ([], False)
