"""/api/v1/scripts: save, list, read, rename or change, and delete scripts.

Ownership and rate limits are those of executions: each user sees their own (another user's
script is a 404, never a 403), admins may list everyone's with `?all=true`; reads spend the read
budget and writes the submit budget.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from sandpod.api.deps import ScriptsDep
from sandpod.api.rate_limits import ReadPrincipal, SubmitPrincipal
from sandpod.api.schemas import Problem
from sandpod.api.script_schemas import CreateScript, ScriptOut, ScriptPageOut, UpdateScript
from sandpod.domain.scripts import ScriptChanges
from sandpod.services.scripts import NewScript

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}}
    for status in (401, 403, 404, 413, 422, 429, 503)
}
router = APIRouter(
    prefix="/scripts",
    tags=["scripts"],
    responses={status: PROBLEMS[status] for status in (401, 429, 503)},
)
WRITE: dict[int | str, dict[str, Any]] = {status: PROBLEMS[status] for status in (403, 413, 422)}


@router.post(
    "", status_code=201, response_model=ScriptOut, responses=WRITE, summary="Save a script"
)
async def create_script(
    body: CreateScript, scripts: ScriptsDep, principal: SubmitPrincipal, response: Response
) -> ScriptOut:
    script = await scripts.create(
        principal,
        NewScript(name=body.name, runtime=body.runtime, content=body.content, stdin=body.stdin),
    )
    response.headers["Location"] = f"/api/v1/scripts/{script.id}"
    return ScriptOut.of(script)


@router.get("", response_model=ScriptPageOut, summary="List your saved scripts, newest first")
async def list_scripts(
    scripts: ScriptsDep,
    principal: ReadPrincipal,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    all_owners: Annotated[
        bool, Query(alias="all", description="Admins only: everyone's scripts (ignored otherwise).")
    ] = False,
) -> ScriptPageOut:
    page = await scripts.list(principal, cursor=cursor, limit=limit, all_owners=all_owners)
    return ScriptPageOut(
        items=[ScriptOut.of(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/{script_id}",
    response_model=ScriptOut,
    responses={404: PROBLEMS[404]},
    summary="One saved script",
)
async def get_script(script_id: str, scripts: ScriptsDep, principal: ReadPrincipal) -> ScriptOut:
    return ScriptOut.of(await scripts.get(principal, script_id))


@router.patch(
    "/{script_id}",
    response_model=ScriptOut,
    responses={404: PROBLEMS[404], **WRITE},
    summary="Rename a saved script or change its code, runtime or stdin",
)
async def update_script(
    script_id: str, body: UpdateScript, scripts: ScriptsDep, principal: SubmitPrincipal
) -> ScriptOut:
    changes = ScriptChanges.model_validate(body.model_dump(exclude_none=True))
    return ScriptOut.of(await scripts.update(principal, script_id, changes))


@router.delete(
    "/{script_id}",
    status_code=204,
    response_class=Response,
    responses={403: PROBLEMS[403], 404: PROBLEMS[404]},
    summary="Delete a saved script",
)
async def delete_script(
    script_id: str, scripts: ScriptsDep, principal: SubmitPrincipal
) -> Response:
    await scripts.delete(principal, script_id)
    return Response(status_code=204)
