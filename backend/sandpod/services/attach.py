"""Interactive standard input: what an attached client types reaches the running program.

In-process only: the client's connection and the sandbox must live in one process (embedded
mode with the local runner). An execution submitted as `interactive` keeps its standard input
open after the submitted `stdin` until the client ends it (or the execution ends); what a client
sends counts against the same stdin cap as a submission.
"""

import asyncio

from sandpod.domain.errors import ConflictError, ForbiddenError, InvalidInputError
from sandpod.services.errors import InputTooLargeError


class InteractiveUnsupportedError(InvalidInputError):
    def __init__(self) -> None:
        super().__init__(
            "interactive executions (stdin over GET /executions/{id}/attach) run only in "
            "embedded mode with the local runner; this server cannot take them"
        )


class NotOwnerError(ForbiddenError):
    def __init__(self, execution_id: str) -> None:
        super().__init__(f"only the owner of execution {execution_id!r} may attach to it")


class NotInteractiveError(InvalidInputError):
    def __init__(self, execution_id: str) -> None:
        super().__init__(
            f'execution {execution_id!r} was not submitted with "interactive": true, so its '
            "standard input is closed"
        )


class NotAttachableError(ConflictError):
    def __init__(self, execution_id: str, status: str) -> None:
        super().__init__(
            f"execution {execution_id!r} is {status}: only a running interactive execution "
            "takes input"
        )


class StdinPipe:
    """One execution's live standard input (a StdinSource), bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._left = max_bytes
        self._most = max_bytes
        self._closed = False

    async def next(self) -> bytes | None:
        return await self._queue.get()

    def send(self, data: bytes) -> None:
        """Queue `data` for the program; InputTooLargeError past the stdin cap."""
        if self._closed:
            return
        if len(data) > self._left:
            raise InputTooLargeError(
                "interactive stdin", self._most - self._left + len(data), self._most
            )
        self._left -= len(data)
        self._queue.put_nowait(data)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)


class AttachHub:
    """The live stdin pipes of the interactive executions this process runs."""

    def __init__(self, max_bytes: int) -> None:
        self._pipes: dict[str, StdinPipe] = {}
        self._max_bytes = max_bytes

    def pipe(self, execution_id: str, already: int = 0) -> StdinPipe:
        """The execution's pipe, made by whichever comes first: its run or a client that
        attaches while it is queued; `already`: bytes of the cap its submitted stdin spent."""
        pipe = self._pipes.get(execution_id)
        if pipe is None:
            pipe = self._pipes[execution_id] = StdinPipe(max(0, self._max_bytes - already))
        return pipe

    def discard(self, execution_id: str) -> None:
        pipe = self._pipes.pop(execution_id, None)
        if pipe is not None:
            pipe.close()
