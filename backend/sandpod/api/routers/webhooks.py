"""/api/v1/webhooks/secret: the key that signs your callbacks (signed in, not by API key)."""

from fastapi import APIRouter, HTTPException, Response

from sandpod.api.deps import StateDep
from sandpod.api.problems import problem_responses
from sandpod.api.rate_limits import SessionPrincipal
from sandpod.api.schemas import WebhookSecret
from sandpod.api.state import ApiState
from sandpod.services.webhooks import WebhookSecrets

# A secret is a credential: like API keys, it is shown to a signed-in session only (an API key
# is a 403), and never cached.
router = APIRouter(
    prefix="/webhooks",
    tags=["webhooks"],
    responses=problem_responses(401, 403, 404, 429, 503),
)
NO_SECRETS = "this server keeps no webhook secrets (no user store)"


def _secrets(state: ApiState) -> WebhookSecrets:
    if state.webhook_secrets is None:
        raise HTTPException(404, NO_SECRETS)
    return state.webhook_secrets


@router.get(
    "/secret",
    response_model=WebhookSecret,
    summary="Your webhook signing secret (made on the first call)",
)
async def get_webhook_secret(
    principal: SessionPrincipal, state: StateDep, response: Response
) -> WebhookSecret:
    response.headers["Cache-Control"] = "no-store"
    return WebhookSecret(secret=await _secrets(state).get(principal.id))


@router.post(
    "/secret/rotate",
    response_model=WebhookSecret,
    summary="Replace your webhook signing secret; deliveries from now on use the new one",
)
async def rotate_webhook_secret(
    principal: SessionPrincipal, state: StateDep, response: Response
) -> WebhookSecret:
    response.headers["Cache-Control"] = "no-store"
    return WebhookSecret(secret=await _secrets(state).rotate(principal.id))
