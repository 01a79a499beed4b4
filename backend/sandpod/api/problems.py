"""Every error as RFC 9457 problem+json with a message a person understands.

A SandpodError carries its status (domain/errors.py) and is answered with its own message; any
other exception is an internal fault: a 500 whose text stays in the log.
"""

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from sandpod.api.schemas import Problem
from sandpod.domain.errors import SandpodError

PROBLEM_JSON = "application/problem+json"


def problem_body(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
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
    return body


def problem(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(status, detail, instance=instance, errors=errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _where(location: Sequence[int | str]) -> str:
    parts = [str(part) for part in location if part not in ("body",)]
    return ".".join(parts) or "body"


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """pydantic's errors as [{field, message}]."""
    return [
        {"field": _where(item.get("loc", ())), "message": str(item.get("msg", "invalid"))}
        for item in errors
    ]


def invalid_summary(errors: list[dict[str, str]]) -> str:
    return "invalid request: " + "; ".join(f"{item['field']}: {item['message']}" for item in errors)


def _validation_problem(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = field_errors(error.errors())
    if any(item.get("type") == "json_invalid" for item in error.errors()):
        return problem(
            400, "the request body is not valid JSON", instance=request.url.path, errors=errors
        )
    return problem(422, invalid_summary(errors), instance=request.url.path, errors=errors)


_HEADERS = {503: {"Retry-After": "5"}, 401: {"WWW-Authenticate": 'Bearer realm="sandpod"'}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` table of a route that may answer these statuses with a problem."""
    return {status: {"model": Problem, "content": {PROBLEM_JSON: {}}} for status in statuses}


def install_problem_handlers(app: FastAPI) -> None:
    async def sandpod_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, SandpodError)
        return problem(
            error.status,
            str(error),
            instance=request.url.path,
            errors=error.field_errors(),
            headers=_HEADERS.get(error.status),
        )

    app.add_exception_handler(SandpodError, sandpod_error)

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
