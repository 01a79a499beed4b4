"""/metrics: Prometheus exposition of execution counts, durations and queue depth."""

import contextlib

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sandpod.api.deps import StateDep
from sandpod.domain.status import ExecutionStatus
from sandpod.observability import QUEUE_DEPTH, REGISTRY

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
async def metrics(state: StateDep) -> Response:
    # An unreachable store must not hide the other metrics.
    with contextlib.suppress(Exception):
        QUEUE_DEPTH.set(await state.executions.count(ExecutionStatus.QUEUED))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
