"""Health endpoints for a worker process, which serves no API: /health/live and /health/ready.

A runner's readiness includes its isolation canary, so an orchestrator stops counting a runner
whose sandbox no longer holds.
"""

import asyncio
from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from sandpod.api.routers.health import readiness
from sandpod.api.schemas import Health

Check = Callable[[], Awaitable[None]]


def worker_health_app(checks: dict[str, Check]) -> FastAPI:
    app = FastAPI(title="sandpod worker health", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health/live")
    async def live() -> Health:
        return Health(status="ok")

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        return await readiness(checks)

    return app


async def serve_worker_health(checks: dict[str, Check], port: int, stop: asyncio.Event) -> None:
    """Serve on 127.0.0.1:`port` until `stop` is set."""
    config = uvicorn.Config(
        worker_health_app(checks), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await serving
