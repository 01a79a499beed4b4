"""Errors: each answer the server refused becomes a SandpodError carrying its problem+json."""

from __future__ import annotations

from http import HTTPStatus

import httpx
from pydantic import ValidationError

from sandpod_client.models import Problem


class SandpodError(Exception):
    """The server answered with an error. `problem` is its RFC 9457 body (or one made up from
    the status line when the answer was not problem+json, e.g. from a proxy)."""

    def __init__(self, problem: Problem, response: httpx.Response | None = None) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail}")
        self.problem = problem
        self.response = response

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def title(self) -> str:
        return self.problem.title

    @property
    def detail(self) -> str:
        return self.problem.detail

    @property
    def errors(self) -> list[dict[str, str]]:
        """Per-field errors of a 422: [{"field": ..., "message": ...}]."""
        return self.problem.errors or []


class BadRequestError(SandpodError):
    """400: the body is not valid JSON or the request is malformed."""


class AuthenticationError(SandpodError):
    """401: no credential, or one that expired or was revoked."""


class PermissionDeniedError(SandpodError):
    """403: signed in, but not allowed (e.g. an API key without the scope)."""


class NotFoundError(SandpodError):
    """404: no such resource, or one that belongs to someone else."""


class ConflictError(SandpodError):
    """409: the resource is not in a state that allows this (e.g. cancelling a finished run)."""


class PayloadTooLargeError(SandpodError):
    """413: the request body is over the server's limit."""


class ValidationFailedError(SandpodError):
    """422: the request was understood but refused; `errors` names the fields."""


class RateLimitedError(SandpodError):
    """429: over a rate limit, still after the client's retries."""


class ServerError(SandpodError):
    """5xx: the server failed or is unavailable, still after the client's retries."""


class ConnectionFailedError(Exception):
    """No answer from the server (connection refused, reset, or timed out) after the retries."""


class StreamEndedError(Exception):
    """The event stream kept closing before the execution ended, past the reconnect budget."""


_BY_STATUS: dict[int, type[SandpodError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationFailedError,
    429: RateLimitedError,
}


def problem_of(response: httpx.Response) -> Problem:
    """The answer's problem details, or ones made from its status line and text."""
    try:
        return Problem.model_validate(response.json())
    except (ValueError, ValidationError):
        try:
            title = HTTPStatus(response.status_code).phrase
        except ValueError:
            title = "Error"
        text = response.text.strip()[:500] or title
        return Problem(title=title, status=response.status_code, detail=text)


def error_for(response: httpx.Response) -> SandpodError:
    problem = problem_of(response)
    kind = _BY_STATUS.get(response.status_code)
    if kind is None:
        kind = ServerError if response.status_code >= 500 else SandpodError
    return kind(problem, response)
