"""Errors that end a process, each said in one line instead of a traceback."""


class StartupError(RuntimeError):
    """Configuration or environment problem, reported as one line instead of a traceback."""


class WorkerStoppedError(RuntimeError):
    """A worker's work ended by itself, without being asked to stop (it must run until then)."""
