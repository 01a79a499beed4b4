"""/api/v1/executions: submit, read, list, cancel and stream."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import AwareDatetime
from sse_starlette import EventSourceResponse, ServerSentEvent

from sandpod.api.deps import ExecutionsDep, StateDep
from sandpod.api.problems import problem_responses
from sandpod.api.rate_limits import ReadPrincipal, SubmitPrincipal
from sandpod.api.schemas import ExecutionOut, ExecutionPage, SubmitExecution
from sandpod.api.stream_events import sse_event
from sandpod.domain.status import ExecutionStatus
from sandpod.observability import SUBMITTED
from sandpod.services.follow import Position

# Every route needs a signed-in caller (401) and is rate limited (429); writes with the session
# cookie need the CSRF header (403). Another user's execution is a 404, never a 403.
router = APIRouter(
    prefix="/executions",
    tags=["executions"],
    responses=problem_responses(401, 429),
)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        description="Retries with the same key and body return the same execution.",
    ),
]


Wait = Annotated[
    float,
    Query(
        ge=0,
        le=86400,
        description="Hold the request open up to this many seconds (cut to the server's "
        "maximum): 200 with the finished execution when it ends in time, else 202 as without.",
    ),
]


@router.post(
    "",
    status_code=202,
    response_model=ExecutionOut,
    responses={
        200: {"model": ExecutionOut, "description": "With `wait`: the execution ended in time."},
        **problem_responses(400, 401, 403, 409, 413, 422, 429, 503),
    },
    summary="Submit a script",
    description="With `wait`, the answer waits for the end: 200 with the finished execution "
    "when it ends in time, else 202 as without.",
)
async def submit_execution(
    body: SubmitExecution,
    executions: ExecutionsDep,
    principal: SubmitPrincipal,
    response: Response,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
    wait: Wait = 0,
) -> ExecutionOut:
    execution, created = await executions.submit(
        principal,
        body.command(),
        idempotency_key,
    )
    response.headers["Location"] = f"/api/v1/executions/{execution.id}"
    if created:
        SUBMITTED.labels(execution.spec.runtime).inc()
    else:
        response.headers["Idempotent-Replayed"] = "true"
    seconds = min(wait, state.max_wait_seconds)
    if seconds > 0:
        execution = await executions.wait_for_end(principal, execution.id, seconds)
        if execution.status.is_terminal:
            response.status_code = 200
    return ExecutionOut.of(execution)


@router.get("", response_model=ExecutionPage, summary="List your executions, newest first")
async def list_executions(
    executions: ExecutionsDep,
    principal: ReadPrincipal,
    status: ExecutionStatus | None = None,
    runtime: Annotated[
        str | None, Query(min_length=1, max_length=64, description="Only this runtime.")
    ] = None,
    created_after: Annotated[
        AwareDatetime | None, Query(description="Only those created after this time.")
    ] = None,
    created_before: Annotated[
        AwareDatetime | None, Query(description="Only those created before this time.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    all_owners: Annotated[
        bool,
        Query(alias="all", description="Admins only: everyone's executions (ignored otherwise)."),
    ] = False,
) -> ExecutionPage:
    page = await executions.list(
        principal,
        status=status,
        cursor=cursor,
        limit=limit,
        all_owners=all_owners,
        runtime=runtime,
        created_after=created_after,
        created_before=created_before,
    )
    return ExecutionPage(
        items=[ExecutionOut.of(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/{execution_id}",
    response_model=ExecutionOut,
    responses=problem_responses(404),
    summary="Status and result of one execution",
)
async def get_execution(
    execution_id: str, executions: ExecutionsDep, principal: ReadPrincipal
) -> ExecutionOut:
    return ExecutionOut.of(await executions.get(principal, execution_id))


@router.post(
    "/{execution_id}/cancel",
    status_code=202,
    response_model=ExecutionOut,
    responses=problem_responses(403, 404, 409),
    summary="Ask for an execution to be stopped",
)
async def cancel_execution(
    execution_id: str, executions: ExecutionsDep, principal: SubmitPrincipal
) -> ExecutionOut:
    return ExecutionOut.of(await executions.cancel(principal, execution_id))


@router.post(
    "/{execution_id}/retry",
    status_code=202,
    response_model=ExecutionOut,
    responses=problem_responses(401, 403, 404, 413, 422, 429, 503),
    summary="Run an execution's script again (a new execution with the same spec)",
)
async def retry_execution(
    execution_id: str, executions: ExecutionsDep, principal: SubmitPrincipal, response: Response
) -> ExecutionOut:
    execution = await executions.retry(principal, execution_id)
    SUBMITTED.labels(execution.spec.runtime).inc()
    response.headers["Location"] = f"/api/v1/executions/{execution.id}"
    return ExecutionOut.of(execution)


@router.delete(
    "/{execution_id}",
    status_code=204,
    responses=problem_responses(403, 404, 409, 503),
    summary="Remove a finished execution and its result",
)
async def delete_execution(
    execution_id: str, executions: ExecutionsDep, principal: SubmitPrincipal
) -> Response:
    await executions.delete(principal, execution_id)
    return Response(status_code=204)


LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=64,
        description="The id of the last event received: the stream goes on with exactly the "
        "events after it.",
    ),
]


@router.get(
    "/{execution_id}/events",
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`status` events: the current status, then each change; the "
            "terminal one carries the result. Between `running` and the end, `output` events "
            '`{"stream", "seq", "text", "truncated"}`: the output as it is written, `seq` from 1 '
            "without gaps. Every event has an id: send the last one as `Last-Event-ID` to go on "
            "after it. An ended execution's output is replayed while it is kept "
            "(SANDPOD_OUTPUT_RETENTION_SECONDS); after that the terminal status alone carries "
            "it. The stream closes after the terminal status. Comments are heartbeats.",
        },
        **problem_responses(400, 404),
    },
    summary="Follow an execution live: status and output (server-sent events)",
)
async def stream_execution_events(
    execution_id: str,
    executions: ExecutionsDep,
    principal: ReadPrincipal,
    state: StateDep,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    after = Position.parse(last_event_id)
    # The first item is read before the stream starts, so a missing execution is a 404 and a
    # live-update service that is down a 503, not a broken stream.
    items = await executions.follow(principal, execution_id, after)
    try:
        first = await anext(items, None)
    except BaseException:
        await items.aclose()
        raise

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            if first is None:  # resumed after the end: nothing is left to send
                return
            yield sse_event(first)
            async for item in items:
                yield sse_event(item)
        finally:
            await items.aclose()

    return EventSourceResponse(events(), ping=int(max(1, state.sse_heartbeat_seconds)))
