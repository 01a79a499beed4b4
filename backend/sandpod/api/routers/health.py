"""/api/v1/health: liveness (the process answers) and readiness (its dependencies do)."""

import asyncio
from collections.abc import Awaitable, Callable

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
    return await readiness(state.readiness)


async def readiness(checks_by_name: dict[str, Callable[[], Awaitable[None]]]) -> JSONResponse:
    """200 when every check passes, else 503; each check named with its answer."""
    # At once, so one slow dependency cannot use up the probe's time before another is named.
    names = list(checks_by_name)
    answers = await asyncio.gather(*(_check(checks_by_name[name]) for name in names))
    checks = dict(zip(names, answers, strict=True))
    healthy = all(value == "ok" for value in checks.values())
    body = Health(status="ok" if healthy else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


async def _check(check: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(check(), timeout=2)
    except Exception as error:
        return f"unavailable: {type(error).__name__}: {error}"[:300]
    return "ok"
