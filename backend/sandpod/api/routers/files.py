"""/api/v1/executions/{id}/files: the files a program left in /tmp/out, kept with its result."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from sandpod.api.deps import ExecutionsDep, StateDep
from sandpod.api.rate_limits import ReadPrincipal
from sandpod.api.schemas import OutputFiles, Problem
from sandpod.services.errors import OutputFileNotFoundError

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}}
    for status in (401, 404, 429)
}
# A program's own HTML or SVG must never run as a page of the API's origin: those are sent as
# downloads, and every file is sandboxed by its Content-Security-Policy and never sniffed.
_DOWNLOAD_TYPES = ("text/html", "image/svg+xml", "application/xhtml+xml", "text/xml")

router = APIRouter(prefix="/executions", tags=["executions"], responses=PROBLEMS)


@router.get(
    "/{execution_id}/files",
    response_model=OutputFiles,
    summary="The files a finished execution left in /tmp/out",
)
async def list_output_files(
    execution_id: str, executions: ExecutionsDep, principal: ReadPrincipal
) -> OutputFiles:
    execution = await executions.get(principal, execution_id)
    result = execution.result
    if result is None:
        return OutputFiles(files=[], truncated=False)
    return OutputFiles(files=result.files, truncated=result.files_truncated)


@router.get(
    "/{execution_id}/files/{name:path}",
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file."}},
    summary="One output file, with its content type (a PNG opens as an image)",
)
async def get_output_file(
    execution_id: str,
    name: Annotated[str, Path(max_length=255)],
    executions: ExecutionsDep,
    principal: ReadPrincipal,
    state: StateDep,
) -> Response:
    await executions.get(principal, execution_id)  # 404 unless the caller may see it
    stored = await state.files.get(execution_id, name)
    if stored is None:
        raise OutputFileNotFoundError(execution_id, name)
    disposition = "attachment" if stored.content_type in _DOWNLOAD_TYPES else "inline"
    leaf = name.rsplit("/", 1)[-1]
    return Response(
        content=stored.data,
        media_type=stored.content_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{leaf}"',
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-Content-Type-Options": "nosniff",
        },
    )
