"""The one error a builder raises: what stops a process from starting, said in one line."""


class StartupError(RuntimeError):
    """Configuration or environment problem, reported as one line instead of a traceback."""
