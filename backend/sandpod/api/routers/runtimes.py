"""/api/v1/runtimes: what can run here, with limit defaults, maxima and an example."""

from fastapi import APIRouter

from sandpod.api.deps import StateDep
from sandpod.api.schemas import RuntimeLimits, RuntimeOut

router = APIRouter(prefix="/runtimes", tags=["runtimes"])


@router.get("", response_model=list[RuntimeOut], summary="Runtimes you can submit to")
async def list_runtimes(state: StateDep) -> list[RuntimeOut]:
    limits = RuntimeLimits(defaults=state.limits.defaults, maxima=state.limits.maxima)
    return [RuntimeOut.of(runtime, limits) for runtime in state.runtimes.all()]
