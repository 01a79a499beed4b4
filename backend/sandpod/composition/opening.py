"""Open a role's connections so that one failure closes what was opened and reads as one line."""

import contextlib
from collections.abc import AsyncIterator

from sandpod.composition.errors import StartupError
from sandpod.config import Settings
from sandpod.ports import ServiceUnavailableError

# What an unreachable or misconfigured dependency raises while a process starts.
STARTUP_FAULTS = (ServiceUnavailableError, OSError, RuntimeError, ValueError)


@contextlib.asynccontextmanager
async def opening(role: str, settings: Settings) -> AsyncIterator[contextlib.AsyncExitStack]:
    """An exit stack for what `role` opens. On success the caller owns it (and closes it when the
    process stops); on failure it is closed here and the error becomes a StartupError."""
    stack = contextlib.AsyncExitStack()
    try:
        yield stack
    except STARTUP_FAULTS as error:
        await stack.aclose()
        if isinstance(error, StartupError):
            raise
        raise StartupError(f"cannot start the {role} ({settings.mode} mode): {error}") from error
    except BaseException:
        await stack.aclose()
        raise
