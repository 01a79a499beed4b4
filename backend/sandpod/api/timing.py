"""Per-request latency histogram and a span per request."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandpod.observability import REQUESTS, tracer

UNMATCHED = "unmatched"


class RequestTiming:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # Named by the route template once routing found it: a raw path would make one span name
        # per execution id. A path no route matches is named by its method alone.
        with tracer.start_as_current_span(scope["method"]) as span:
            try:
                await self._app(scope, receive, record_status)
            finally:
                template = _route_template(scope)
                if template != UNMATCHED:
                    span.update_name(f"{scope['method']} {template}")
                span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", status)
                REQUESTS.labels(scope["method"], template, str(status)).observe(
                    time.perf_counter() - started
                )


def _route_template(scope: Scope) -> str:
    """The path with its parameters named ("/api/v1/executions/{execution_id}").

    Nested routers keep route paths relative to their prefix, so rebuild the template from the
    real path; unmatched paths collapse to one label so metrics cardinality stays bounded.
    """
    if scope.get("route") is None:
        return UNMATCHED
    path: str = scope["path"]
    for name, value in scope.get("path_params", {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path
