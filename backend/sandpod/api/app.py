"""The FastAPI app factory."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI

from sandpod import __version__
from sandpod.api.body_limit import BodySizeLimit
from sandpod.api.problems import install_problem_handlers
from sandpod.api.routers import executions, health, runtimes
from sandpod.api.state import ApiState

API_PREFIX = "/api/v1"
DESCRIPTION = """\
Run untrusted scripts in isolated sandboxes with hard limits.

Submit a script with `POST /api/v1/executions`, follow it live with
`GET /api/v1/executions/{id}/events` (server-sent events), and read the result with
`GET /api/v1/executions/{id}`. Errors are RFC 9457 `application/problem+json`.
"""

StateFactory = Callable[[], AbstractAsyncContextManager[ApiState]]


def create_app(state: StateFactory | None = None, *, max_request_bytes: int = 2 << 20) -> FastAPI:
    """Build the app. `state` opens the wired services for the app's lifetime.

    Without it the app can only describe itself (`sandpod openapi`).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state is None:
            yield
            return
        async with state() as api_state:
            app.state.api = api_state
            yield

    app = FastAPI(
        title="sandpod",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_request_bytes)
    v1 = APIRouter(prefix=API_PREFIX)
    for module in (executions, runtimes, health):
        v1.include_router(module.router)
    app.include_router(v1)
    return app
