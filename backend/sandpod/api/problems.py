"""Map every error to RFC 9457 problem+json with a message a person understands."""

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from sandpod.domain.limits import LimitsExceededError
from sandpod.domain.passwords import WeakPasswordError
from sandpod.domain.runtimes import UnknownRuntimeError
from sandpod.ports import ServiceUnavailableError, UsernameTakenError
from sandpod.services.errors import (
    AlreadyFinishedError,
    AuthenticationError,
    ExecutionNotFoundError,
    IdempotencyConflictError,
    IdempotencyInFlightError,
    InputTooLargeError,
    RegistrationClosedError,
)

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _where(location: Sequence[int | str]) -> str:
    parts = [str(part) for part in location if part not in ("body",)]
    return ".".join(parts) or "body"


def _validation_problem(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": _where(item.get("loc", ())), "message": str(item.get("msg", "invalid"))}
        for item in error.errors()
    ]
    if any(item.get("type") == "json_invalid" for item in error.errors()):
        return problem(
            400, "the request body is not valid JSON", instance=request.url.path, errors=errors
        )
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in errors)
    return problem(422, f"invalid request: {summary}", instance=request.url.path, errors=errors)


_HEADERS = {503: {"Retry-After": "5"}, 401: {"WWW-Authenticate": 'Bearer realm="sandpod"'}}


def install_problem_handlers(app: FastAPI) -> None:
    statuses: dict[type[Exception], int] = {
        ExecutionNotFoundError: 404,
        UnknownRuntimeError: 422,
        LimitsExceededError: 422,
        InputTooLargeError: 413,
        IdempotencyConflictError: 409,
        IdempotencyInFlightError: 409,
        AlreadyFinishedError: 409,
        ServiceUnavailableError: 503,
        AuthenticationError: 401,
        RegistrationClosedError: 403,
        UsernameTakenError: 409,
    }

    async def domain_error(request: Request, error: Exception) -> JSONResponse:
        for kind, status in statuses.items():
            if isinstance(error, kind):
                headers = _HEADERS.get(status)
                return problem(status, str(error), instance=request.url.path, headers=headers)
        return problem(422, str(error), instance=request.url.path)

    for kind in statuses:
        app.add_exception_handler(kind, domain_error)
    app.add_exception_handler(ValueError, domain_error)

    async def weak_password(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, WeakPasswordError)
        errors = [{"field": "password", "message": item} for item in error.problems]
        return problem(422, str(error), instance=request.url.path, errors=errors)

    app.add_exception_handler(WeakPasswordError, weak_password)

    async def validation_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return _validation_problem(request, error)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        detail = str(error.detail)
        if detail == "There was an error parsing the body":
            detail = "the request body could not be read; send UTF-8 encoded JSON"
        return problem(
            error.status_code,
            detail,
            instance=request.url.path,
            headers=dict(error.headers or {}),
        )

    async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        return problem(500, "internal error; it has been logged", instance=request.url.path)

    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
