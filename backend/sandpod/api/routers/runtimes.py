"""/api/v1/runtimes: what can run here, with limit defaults, maxima and an example."""

from fastapi import APIRouter, Depends

from sandpod.api.deps import StateDep
from sandpod.api.problems import problem_responses
from sandpod.api.rate_limits import limit_read_per_ip
from sandpod.api.schemas import RuntimeLimits, RuntimeOut

router = APIRouter(prefix="/runtimes", tags=["runtimes"])


@router.get(
    "",
    response_model=list[RuntimeOut],
    dependencies=[Depends(limit_read_per_ip)],  # public, so limited per client address only
    responses=problem_responses(429),
    summary="Runtimes you can submit to",
)
async def list_runtimes(state: StateDep) -> list[RuntimeOut]:
    limits = RuntimeLimits(defaults=state.limits.defaults, maxima=state.limits.maxima)
    return [RuntimeOut.of(runtime, limits) for runtime in state.runtimes.all()]
