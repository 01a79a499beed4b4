"""POST /api/v1/executions/batch: many submissions in one request, each judged on its own."""

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError

from sandpod.api.deps import ExecutionsDep, StateDep
from sandpod.api.problems import field_errors, invalid_summary, problem_body, problem_responses
from sandpod.api.rate_limits import SubmitPrincipal, charge_another_submission
from sandpod.api.schemas import BatchItem, BatchOut, BatchOutcome, ExecutionOut, SubmitBatch
from sandpod.domain.errors import SandpodError
from sandpod.domain.principals import Principal
from sandpod.observability import SUBMITTED
from sandpod.services.executions import ExecutionService

router = APIRouter(
    prefix="/executions",
    tags=["executions"],
    responses=problem_responses(400, 401, 403, 413, 422, 429),
)


@router.post(
    "/batch",
    response_model=BatchOut,
    summary="Submit several scripts; each item gets its execution or its problem",
)
async def submit_batch(
    body: SubmitBatch,
    request: Request,
    executions: ExecutionsDep,
    principal: SubmitPrincipal,
    state: StateDep,
) -> BatchOut:
    if len(body.items) > state.max_batch_items:
        raise HTTPException(
            422,
            f"a batch holds at most {state.max_batch_items} items; this one has "
            f"{len(body.items)}: split it",
        )
    outcomes = []
    for index, raw in enumerate(body.items):
        instance = f"{request.url.path}#/items/{index}"
        if index > 0:  # the first item was charged with the request
            try:
                await charge_another_submission(request, state, principal)
            except HTTPException as refused:
                outcomes.append(_refused(index, refused.status_code, refused.detail, instance))
                continue
        outcomes.append(await _submit_one(executions, principal, index, raw, instance))
    return BatchOut(items=outcomes)


async def _submit_one(
    executions: ExecutionService,
    principal: Principal,
    index: int,
    raw: BatchItem | dict[str, Any],
    instance: str,
) -> BatchOutcome:
    try:
        item = raw if isinstance(raw, BatchItem) else BatchItem.model_validate(raw)
    except ValidationError as error:
        errors = [
            {**entry, "field": f"items.{index}.{entry['field']}"}
            for entry in field_errors(error.errors())
        ]
        return _refused(index, 422, invalid_summary(errors), instance, errors)
    try:
        execution, created = await executions.submit(
            principal, item.command(), item.idempotency_key
        )
    except SandpodError as error:  # every error a caller can act on carries its status
        errors = [
            {**entry, "field": f"items.{index}.{entry['field']}"} for entry in error.field_errors()
        ]
        return _refused(index, error.status, str(error), instance, errors or None)
    if created:
        SUBMITTED.labels(execution.spec.runtime).inc()
    return BatchOutcome(
        index=index, status=202, execution=ExecutionOut.of(execution), replayed=not created
    )


def _refused(
    index: int,
    status: int,
    detail: str,
    instance: str,
    errors: list[dict[str, str]] | None = None,
) -> BatchOutcome:
    body = problem_body(status, detail, instance=instance, errors=errors)
    return BatchOutcome.model_validate({"index": index, "status": status, "problem": body})
