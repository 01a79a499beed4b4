"""/api/v1/auth/keys: create (shown once), list and revoke your API keys (signed in, not by key)."""

from fastapi import APIRouter, HTTPException, Response

from sandpod.api.deps import StateDep
from sandpod.api.problems import problem_responses
from sandpod.api.rate_limits import SessionPrincipal
from sandpod.api.routers.auth import OFF
from sandpod.api.schemas import ApiKeyOut, CreatedApiKey, NewApiKey
from sandpod.api.state import ApiState
from sandpod.services.api_keys import ApiKeyService

# Every route needs a signed-in session (401; an API key is a 403) and is rate limited (429).
router = APIRouter(
    prefix="/auth/keys",
    tags=["auth"],
    responses=problem_responses(401, 403, 404, 429),
)


def _keys(state: ApiState) -> ApiKeyService:
    if state.api_keys is None:
        raise HTTPException(404, OFF)
    return state.api_keys


@router.post(
    "",
    status_code=201,
    response_model=CreatedApiKey,
    responses=problem_responses(409, 422),
    summary="Create an API key (its text is shown only in this answer)",
)
async def create_api_key(
    body: NewApiKey, principal: SessionPrincipal, state: StateDep, response: Response
) -> CreatedApiKey:
    key, text = await _keys(state).create(principal, body.name, frozenset(body.scopes))
    response.headers["Cache-Control"] = "no-store"
    return CreatedApiKey(**ApiKeyOut.of(key).model_dump(), key=text)


@router.get("", response_model=list[ApiKeyOut], summary="Your API keys (without their secrets)")
async def list_api_keys(principal: SessionPrincipal, state: StateDep) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(key) for key in await _keys(state).list(principal)]


@router.delete(
    "/{key_id}",
    response_model=ApiKeyOut,
    summary="Revoke an API key (yours; an admin: anyone's); it stops working at once",
)
async def revoke_api_key(key_id: str, principal: SessionPrincipal, state: StateDep) -> ApiKeyOut:
    return ApiKeyOut.of(await _keys(state).revoke(principal, key_id))
