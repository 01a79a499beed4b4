"""One execution's status changes and live output, merged into one resumable stream.

Order: the status events as today, every output chunk after `running` (a chunk that overtakes
the `running` update implies it) and before the terminal status, which is sent only once the
output log has ended (or `end_wait_seconds` passed without its end). A position names the last
status (by rank: queued 1, running 2, ended 3) and the last chunk sent; resuming from it sends
exactly what comes after.
"""

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from sandpod.domain.errors import SandpodError
from sandpod.domain.events import StatusUpdate
from sandpod.domain.output import OutputChunk
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import OutputLog, OutputRead

log = logging.getLogger(__name__)

READ_WAIT_SECONDS = 1.0  # one blocking read of the output log; the loop reads again
_POSITION = re.compile(r"([0-3])\.([0-9]{1,12})")


class InvalidEventIdError(SandpodError):
    status = 400

    def __init__(self, value: str) -> None:
        super().__init__(
            f"Last-Event-ID {value[:64]!r} is not an id this stream sent; reconnect without it "
            "to start from the beginning"
        )


def rank(status: ExecutionStatus) -> int:
    if status.is_terminal:
        return 3
    return 2 if status is ExecutionStatus.RUNNING else 1


@dataclass(frozen=True)
class Position:
    status: int = 0
    output: int = 0

    def token(self) -> str:
        return f"{self.status}.{self.output}"

    @classmethod
    def parse(cls, value: str | None) -> "Position":
        if value is None or not value.strip():
            return cls()
        found = _POSITION.fullmatch(value.strip())
        if found is None:
            raise InvalidEventIdError(value)
        return cls(status=int(found[1]), output=int(found[2]))


@dataclass(frozen=True)
class StreamItem:
    position: Position
    status: StatusUpdate | None = None
    output: OutputChunk | None = None


async def follow(
    statuses: AsyncGenerator[StatusUpdate, None],
    output_log: OutputLog | None,
    execution_id: str,
    after: Position,
    *,
    end_wait_seconds: float,
    first: StatusUpdate | None = None,
) -> AsyncGenerator[StreamItem, None]:
    """Merge `statuses` (the current status, then changes, ending after the terminal one) with
    the execution's output chunks, from `after` on. `first`: the current status, when the
    caller has already taken it from `statuses`."""
    position = after
    if position.status == 3:  # everything was sent before the terminal status
        await statuses.aclose()
        return
    status_task: asyncio.Task[StatusUpdate] | None = asyncio.create_task(
        _next(statuses) if first is None else _given(first)
    )
    output_task = _read(output_log, execution_id, position.output, READ_WAIT_SECONDS)
    output_ended = False  # the log's end was read: nothing is left to drain
    try:
        while status_task is not None:
            waiting: set[asyncio.Task[Any]] = {t for t in (status_task, output_task) if t}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if output_task in done:
                read = _result(output_task)
                output_task = None
                for item in _items(read, execution_id, position):
                    position = item.position
                    yield item
                output_ended = read is not None and read.ended
                if read is not None and not read.ended:
                    output_task = _read(
                        output_log, execution_id, position.output, READ_WAIT_SECONDS
                    )
            if status_task not in done:
                continue
            try:
                update = status_task.result()
            except StopAsyncIteration:
                return
            status_task = None
            if update.status.is_terminal:
                if output_task is not None:  # a read is idempotent: the drain reads it again
                    output_task.cancel()
                    output_task = None
                # Output comes only after `running`; and one that ended before this stream
                # began had its output's end written before it (or never will).
                wait = end_wait_seconds if position.status >= 2 else 0.0
                if not output_ended:
                    async for item in _drain(output_log, execution_id, position, wait):
                        position = item.position
                        yield item
                yield StreamItem(Position(3, position.output), status=update)
                return
            if rank(update.status) > position.status:
                position = Position(rank(update.status), position.output)
                yield StreamItem(position, status=update)
            status_task = asyncio.create_task(_next(statuses))
    finally:
        for task in (status_task, output_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        await statuses.aclose()


async def _drain(
    output_log: OutputLog | None, execution_id: str, position: Position, wait: float
) -> AsyncIterator[StreamItem]:
    """The rest of the output once the execution has ended: until the log's end, or until
    `wait` has passed without more of it."""
    if output_log is None:
        return
    deadline = time.monotonic() + wait
    while True:
        remaining = max(0.0, deadline - time.monotonic())
        try:
            read = await output_log.read(
                execution_id, after=position.output, wait_seconds=min(READ_WAIT_SECONDS, remaining)
            )
        except Exception as error:
            log.warning("live output read failed: %s", error)
            return
        for item in _items(read, execution_id, position):
            position = item.position
            yield item
        if read.ended or (not read.chunks and remaining <= 0):
            return


def _items(read: OutputRead | None, execution_id: str, position: Position) -> list[StreamItem]:
    items: list[StreamItem] = []
    for chunk in read.chunks if read else ():
        if position.status < 2:  # output means it runs, whatever the bus says yet
            position = Position(2, position.output)
            running = StatusUpdate(execution_id=execution_id, status=ExecutionStatus.RUNNING)
            items.append(StreamItem(position, status=running))
        position = Position(position.status, chunk.seq)
        items.append(StreamItem(position, output=chunk))
    return items


async def _next(statuses: AsyncGenerator[StatusUpdate, None]) -> StatusUpdate:
    return await anext(statuses)


async def _given(update: StatusUpdate) -> StatusUpdate:
    return update


def _read(
    output_log: OutputLog | None, execution_id: str, after: int, wait: float
) -> "asyncio.Task[OutputRead] | None":
    if output_log is None:
        return None
    return asyncio.create_task(output_log.read(execution_id, after=after, wait_seconds=wait))


def _result(task: "asyncio.Task[OutputRead]") -> OutputRead | None:
    """The read, or None when it failed: the terminal status still carries all the output."""
    try:
        return task.result()
    except Exception as error:
        log.warning("live output read failed: %s", error)
        return None
