"""/api/v1/health: liveness (the process answers) and readiness (its dependencies do)."""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sandpod.api.deps import StateDep
from sandpod.api.schemas import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=Health, summary="The process is up")
async def live() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Health,
    responses={503: {"model": Health, "description": "A dependency is not reachable."}},
    summary="Every dependency answers",
)
async def ready(state: StateDep) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, check in state.readiness.items():
        try:
            await asyncio.wait_for(check(), timeout=2)
            checks[name] = "ok"
        except Exception as error:
            checks[name] = f"unavailable: {type(error).__name__}: {error}"[:300]
    healthy = all(value == "ok" for value in checks.values())
    body = Health(status="ok" if healthy else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
