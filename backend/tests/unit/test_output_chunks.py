"""Live output without I/O: chunking, the merge of status and output, and event ids."""

import asyncio
from collections.abc import AsyncGenerator, Sequence

import pytest

from sandpod.adapters.memory.output_log import InMemoryOutputLog
from sandpod.domain.events import StatusUpdate
from sandpod.domain.output import OutputChunk, OutputStream
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import OutputRead
from sandpod.services.attach import AttachHub
from sandpod.services.errors import InputTooLargeError
from sandpod.services.follow import InvalidEventIdError, Position, StreamItem, follow
from sandpod.services.output import ChunkPolicy, OutputRecorder

OUT, ERR = OutputStream.STDOUT, OutputStream.STDERR
NOW = ChunkPolicy(chunk_chars=64, flush_seconds=0)


async def everything(log: InMemoryOutputLog, execution_id: str = "ex_1") -> OutputRead:
    return await log.read(execution_id, after=0, wait_seconds=0)


async def test_neighbouring_writes_of_one_stream_travel_together_in_order() -> None:
    log = InMemoryOutputLog()
    recorder = OutputRecorder(log, "ex_1", ChunkPolicy(chunk_chars=64, flush_seconds=10))
    recorder.write(OUT, b"a")
    recorder.write(OUT, b"b")
    recorder.write(ERR, b"oops")
    recorder.write(OUT, b"c")
    await recorder.close()
    read = await everything(log)
    assert [(c.stream, c.seq, c.text) for c in read.chunks] == [
        (OUT, 1, "ab"),
        (ERR, 2, "oops"),
        (OUT, 3, "c"),
    ]
    assert read.ended


async def test_long_output_is_cut_into_bounded_chunks_and_the_cut_is_marked_once() -> None:
    log = InMemoryOutputLog()
    recorder = OutputRecorder(log, "ex_1", NOW)
    recorder.write(OUT, b"x" * 150, truncated=True)
    await recorder.close()
    chunks = (await everything(log)).chunks
    assert [len(c.text) for c in chunks] == [64, 64, 22]
    assert [c.truncated for c in chunks] == [False, False, True]


async def test_a_character_split_between_reads_is_not_broken() -> None:
    log = InMemoryOutputLog()
    recorder = OutputRecorder(log, "ex_1", NOW)
    encoded = "naïve ✓".encode()
    recorder.write(OUT, encoded[:3])  # ends inside "ï"
    await asyncio.sleep(0.05)  # let that flush go out alone
    recorder.write(OUT, encoded[3:])
    await recorder.close()
    assert "".join(c.text for c in (await everything(log)).chunks) == "naïve ✓"


async def test_a_flush_goes_out_while_the_program_still_runs() -> None:
    log = InMemoryOutputLog()
    recorder = OutputRecorder(log, "ex_1", ChunkPolicy(flush_seconds=0.01))
    recorder.write(OUT, b"first\n")
    read = await log.read("ex_1", after=0, wait_seconds=5)  # no close() yet
    assert [c.text for c in read.chunks] == ["first\n"]
    assert not read.ended
    await recorder.close()


class BrokenLog(InMemoryOutputLog):
    async def append(self, execution_id: str, chunks: Sequence[OutputChunk]) -> None:
        raise ConnectionError("the log is down")

    async def end(
        self, execution_id: str, last_seq: int, chunks: Sequence[OutputChunk] = ()
    ) -> None:
        raise ConnectionError("the log is down")


async def test_a_failing_log_never_fails_the_run() -> None:
    recorder = OutputRecorder(BrokenLog(), "ex_1", NOW)
    recorder.write(OUT, b"lost to the live view, kept in the result\n")
    await recorder.close()  # no error


@pytest.mark.parametrize("value", ["abc", "1", "4.0", "1.-1", "1.2.3", " 2.x"])
def test_an_event_id_this_stream_never_sent_is_refused(value: str) -> None:
    with pytest.raises(InvalidEventIdError):
        Position.parse(value)


@pytest.mark.parametrize(
    ("value", "position"), [(None, Position()), ("", Position()), ("2.17", Position(2, 17))]
)
def test_event_ids_round_trip(value: str | None, position: Position) -> None:
    assert Position.parse(value) == position
    assert Position.parse(position.token()) == position


def update(status: ExecutionStatus) -> StatusUpdate:
    return StatusUpdate(execution_id="ex_1", status=status)


async def statuses(*sequence: StatusUpdate) -> AsyncGenerator[StatusUpdate, None]:
    for status in sequence:
        yield status


def chunk(seq: int) -> OutputChunk:
    return OutputChunk(stream=OUT, seq=seq, text=f"{seq}\n")


async def collect(
    log: InMemoryOutputLog, after: Position, *sequence: StatusUpdate
) -> list[StreamItem]:
    items = follow(statuses(*sequence), log, "ex_1", after, end_wait_seconds=1)
    return [item async for item in items]


async def test_output_sits_between_running_and_the_end_and_every_cut_resumes_exactly() -> None:
    log = InMemoryOutputLog()
    await log.append("ex_1", [chunk(1), chunk(2), chunk(3)])
    await log.end("ex_1", 3)
    run = [update(s) for s in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)]
    run.append(update(ExecutionStatus.COMPLETED))
    whole = await collect(log, Position(), *run)
    kinds = [item.status.status if item.status else item.position.output for item in whole]
    assert kinds[-1] is ExecutionStatus.COMPLETED
    assert [k for k in kinds if isinstance(k, int)] == [1, 2, 3]
    assert kinds.index(1) > kinds.index(ExecutionStatus.RUNNING)
    for cut, item in enumerate(whole):
        assert await collect(log, item.position, *run) == whole[cut + 1 :]


async def test_a_stream_that_began_after_the_end_does_not_wait_for_missing_output() -> None:
    log = InMemoryOutputLog()  # nothing: expired, or a pod's execution
    items = await asyncio.wait_for(collect(log, Position(), update(ExecutionStatus.CANCELLED)), 0.9)
    assert [item.status.status for item in items if item.status] == [ExecutionStatus.CANCELLED]


class CountingLog(InMemoryOutputLog):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def append(self, execution_id: str, chunks: Sequence[OutputChunk]) -> None:
        self.calls.append("append")
        await super().append(execution_id, chunks)

    async def end(
        self, execution_id: str, last_seq: int, chunks: Sequence[OutputChunk] = ()
    ) -> None:
        self.calls.append(f"end+{len(chunks)}")
        await super().end(execution_id, last_seq, chunks)

    async def read(self, execution_id: str, *, after: int, wait_seconds: float) -> OutputRead:
        self.calls.append("read")
        return await super().read(execution_id, after=after, wait_seconds=wait_seconds)


async def test_the_last_chunks_go_out_with_the_end_in_one_write() -> None:
    log = CountingLog()
    recorder = OutputRecorder(log, "ex_1", ChunkPolicy(flush_seconds=10))
    recorder.write(OUT, b"hello\n")
    await recorder.close()
    assert log.calls == ["end+1"]
    read = await everything(log)
    assert ([c.text for c in read.chunks], read.ended) == (["hello\n"], True)


async def test_an_ended_log_is_not_read_again_for_the_terminal_status() -> None:
    log = CountingLog()
    await log.end("ex_1", 1, [chunk(1)])

    async def slow_end() -> AsyncGenerator[StatusUpdate, None]:
        yield update(ExecutionStatus.RUNNING)
        await asyncio.sleep(0.05)  # the output's read and end arrive first
        yield update(ExecutionStatus.COMPLETED)

    items = [item async for item in follow(slow_end(), log, "ex_1", Position(), end_wait_seconds=1)]
    assert [item.position.output for item in items if item.output] == [1]
    sent = [item.status.status for item in items if item.status]
    assert sent == [ExecutionStatus.RUNNING, ExecutionStatus.COMPLETED]
    assert log.calls.count("read") == 1


async def test_a_first_status_taken_by_the_caller_comes_first() -> None:
    log = InMemoryOutputLog()
    rest = statuses(update(ExecutionStatus.RUNNING), update(ExecutionStatus.COMPLETED))
    items = follow(
        rest, log, "ex_1", Position(), end_wait_seconds=0, first=update(ExecutionStatus.QUEUED)
    )
    sent = [item.status.status async for item in items if item.status]
    assert sent == [ExecutionStatus.QUEUED, ExecutionStatus.RUNNING, ExecutionStatus.COMPLETED]


async def test_interactive_input_keeps_to_the_stdin_cap_and_ends_once() -> None:
    hub = AttachHub(max_bytes=10)
    pipe = hub.pipe("ex_1", already=4)  # the submitted stdin spent 4 of the 10 bytes
    assert hub.pipe("ex_1") is pipe  # the runner and a client share it, whoever came first
    pipe.send(b"abc")
    with pytest.raises(InputTooLargeError, match="11 bytes; the most accepted is 6"):
        pipe.send(b"defghijk")
    pipe.send(b"def")
    hub.discard("ex_1")
    pipe.send(b"after the end")  # ignored: the program's input has ended
    assert [await pipe.next(), await pipe.next(), await pipe.next()] == [b"abc", b"def", None]
