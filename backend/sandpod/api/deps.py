"""FastAPI dependencies, as Annotated aliases used by the routers."""

from typing import Annotated

from fastapi import Depends, Request

from sandpod.api.state import ApiState
from sandpod.services.executions import ExecutionService, Principal

LOCAL_PRINCIPAL = Principal(id="local", is_admin=True)


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def get_executions(state: Annotated[ApiState, Depends(get_state)]) -> ExecutionService:
    return state.executions


def get_principal() -> Principal:
    # Embedded mode without accounts: one local user who owns everything.
    return LOCAL_PRINCIPAL


StateDep = Annotated[ApiState, Depends(get_state)]
ExecutionsDep = Annotated[ExecutionService, Depends(get_executions)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
