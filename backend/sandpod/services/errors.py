"""Errors the services raise; each carries its HTTP status (domain/errors.py)."""

from sandpod.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    TooLargeError,
)


class ExecutionNotFoundError(NotFoundError):
    def __init__(self, execution_id: str) -> None:
        super().__init__(f"no execution with id {execution_id!r}")
        self.execution_id = execution_id


class OutputFileNotFoundError(NotFoundError):
    def __init__(self, execution_id: str, name: str) -> None:
        super().__init__(f"execution {execution_id!r} kept no output file {name!r}")


class IdempotencyConflictError(ConflictError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used with a different request body; "
            "use a new key for a different request"
        )


class AlreadyFinishedError(ConflictError):
    def __init__(self, execution_id: str, status: str) -> None:
        super().__init__(f"execution {execution_id!r} already finished ({status})")


class IdempotencyInFlightError(ConflictError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"a request with Idempotency-Key {key!r} is still being processed; retry shortly"
        )


class InputTooLargeError(TooLargeError):
    def __init__(self, what: str, size: int, most: int) -> None:
        super().__init__(f"{what} is {size} bytes; the most accepted is {most} bytes")


class EmptyScriptError(InvalidInputError):
    def __init__(self) -> None:
        super().__init__("script is empty")


class AuthenticationError(NotAuthenticatedError):
    """No valid credential."""


class InvalidCredentialsError(AuthenticationError):
    # One message for unknown users, wrong passwords and locked accounts: nothing is revealed.
    def __init__(self) -> None:
        super().__init__("invalid username or password")


class RegistrationClosedError(ForbiddenError):
    def __init__(self) -> None:
        super().__init__("registration is closed on this server; ask an admin for an account")


class ScriptNotFoundError(NotFoundError):
    def __init__(self, script_id: str) -> None:
        super().__init__(f"no saved script with id {script_id!r}")
        self.script_id = script_id


class NotFinishedError(ConflictError):
    def __init__(self, execution_id: str, status: str) -> None:
        super().__init__(
            f"execution {execution_id!r} has not finished ({status}); cancel it first, "
            "or wait for its end"
        )


class ApiKeyNotFoundError(NotFoundError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"no API key with id {key_id!r}")


class TooManyApiKeysError(ConflictError):
    def __init__(self, most: int) -> None:
        super().__init__(
            f"an account may hold at most {most} active API keys; revoke one you no longer use"
        )


class TokenExpiredError(AuthenticationError):
    def __init__(self) -> None:
        super().__init__("the access token has expired; sign in again")


class InvalidTokenError(AuthenticationError):
    def __init__(self) -> None:
        super().__init__("the access token is not valid; sign in again")
