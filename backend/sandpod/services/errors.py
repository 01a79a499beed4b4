"""Errors the services raise; the API maps each to one HTTP status."""


class ExecutionNotFoundError(LookupError):
    def __init__(self, execution_id: str) -> None:
        super().__init__(f"no execution with id {execution_id!r}")
        self.execution_id = execution_id


class IdempotencyConflictError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used with a different request body; "
            "use a new key for a different request"
        )


class AlreadyFinishedError(ValueError):
    def __init__(self, execution_id: str, status: str) -> None:
        super().__init__(f"execution {execution_id!r} already finished ({status})")


class InputTooLargeError(ValueError):
    def __init__(self, what: str, size: int, most: int) -> None:
        super().__init__(f"{what} is {size} bytes; the most accepted is {most} bytes")


class IdempotencyInFlightError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"a request with Idempotency-Key {key!r} is still being processed; retry shortly"
        )


class AuthenticationError(Exception):
    """No valid credential: the API answers 401."""


class InvalidCredentialsError(AuthenticationError):
    # One message for unknown users, wrong passwords and locked accounts: nothing is revealed.
    def __init__(self) -> None:
        super().__init__("invalid username or password")


class RegistrationClosedError(PermissionError):
    def __init__(self) -> None:
        super().__init__("registration is closed on this server; ask an admin for an account")
