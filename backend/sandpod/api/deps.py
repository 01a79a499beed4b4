"""FastAPI dependencies, as Annotated aliases used by the routers."""

from typing import Annotated

from fastapi import Depends, Request

from sandpod.api.state import ApiState
from sandpod.services.executions import ExecutionService
from sandpod.services.scripts import ScriptService


# Coroutines, though they do no I/O: FastAPI runs a plain `def` dependency in a worker thread,
# a thread hop (and a wake-up) per request on the hot path.
async def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


async def get_executions(state: Annotated[ApiState, Depends(get_state)]) -> ExecutionService:
    return state.executions


async def get_scripts(state: Annotated[ApiState, Depends(get_state)]) -> ScriptService:
    return state.scripts


StateDep = Annotated[ApiState, Depends(get_state)]
ExecutionsDep = Annotated[ExecutionService, Depends(get_executions)]
ScriptsDep = Annotated[ScriptService, Depends(get_scripts)]
# Who is asking: sandpod.api.auth.PrincipalDep (and the rate-limited aliases in rate_limits).
