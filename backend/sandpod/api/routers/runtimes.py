"""/api/v1/runtimes: the catalogue, whether each runtime can run here, its limits and example."""

from fastapi import APIRouter, Depends

from sandpod.api.deps import StateDep
from sandpod.api.problems import problem_responses
from sandpod.api.rate_limits import limit_read_per_ip
from sandpod.api.schemas import RuntimeOut

router = APIRouter(prefix="/runtimes", tags=["runtimes"])


@router.get(
    "",
    response_model=list[RuntimeOut],
    dependencies=[Depends(limit_read_per_ip)],  # public, so limited per client address only
    responses=problem_responses(429),
    summary="The runtime catalogue and which runtimes you can submit to here",
)
async def list_runtimes(state: StateDep) -> list[RuntimeOut]:
    return [
        RuntimeOut.of(runtime, available=available, policy=runtime.limits.policy(state.limits))
        for runtime, available in state.runtimes.catalogue()
    ]
