"""The API's request path stays on the event loop: FastAPI runs a dependency or an endpoint that
is a plain function in a worker thread, a thread hop (and a wake-up) per request."""

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from sandpod.api.app import create_app


def calls(dependant: Dependant) -> Iterator[Any]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from calls(sub)


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also those of included routers (FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (router := getattr(route, "original_router", None)) is not None:
            yield from api_routes(router.routes)


def runs_in_a_thread(call: Any) -> bool:
    if inspect.isclass(call):
        return False  # a model or a security scheme instance's class: not called per request
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else call.__call__
    return not inspect.iscoroutinefunction(target) and not inspect.isasyncgenfunction(target)


def test_no_dependency_or_endpoint_runs_in_a_worker_thread() -> None:
    app = create_app()
    routes = list(api_routes(app.routes))
    assert any(route.path == "/executions" for route in routes), [r.path for r in routes]
    threaded = sorted(
        {
            f"{route.path}: {getattr(call, '__qualname__', repr(call))}"
            for route in routes
            for call in calls(route.dependant)
            if runs_in_a_thread(call)
        }
    )
    assert threaded == []
