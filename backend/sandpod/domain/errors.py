"""The errors a caller can act on. Each class carries its HTTP status; str(error) is the message.

The API answers every one of them with one handler (api/problems.py); any other exception is an
internal fault and answers 500 without its text.
"""

from typing import ClassVar


class SandpodError(Exception):
    status: ClassVar[int] = 400

    def field_errors(self) -> list[dict[str, str]]:
        """Per-field messages for the problem's `errors` list (none unless a subclass says)."""
        return []


class NotFoundError(SandpodError):
    status = 404


class InvalidInputError(SandpodError, ValueError):
    # A ValueError too: pydantic validators that call domain checks turn it into a field error.
    status = 422


class TooLargeError(InvalidInputError):
    status = 413


class ConflictError(SandpodError):
    status = 409


class NotAuthenticatedError(SandpodError):
    status = 401


class ForbiddenError(SandpodError):
    status = 403


class UnavailableError(SandpodError, RuntimeError):
    """A backing service (database, broker, cache) cannot be reached right now."""

    status = 503
