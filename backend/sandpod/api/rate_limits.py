"""Rate limits as dependencies: each budget is charged per client IP, then per user.

Every response of a limited endpoint carries RateLimit-Limit/-Remaining/-Reset/-Policy for the
tightest budget it was charged to; a refusal is 429 problem+json with Retry-After.
"""

import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandpod.api.auth import PrincipalDep
from sandpod.api.budgets import Budget
from sandpod.api.deps import StateDep
from sandpod.api.state import ApiState
from sandpod.domain.api_keys import Scope as KeyScope
from sandpod.domain.principals import Principal
from sandpod.ports import RateDecision

Kind = Literal["submit", "read", "auth"]
Who = Literal["ip", "user", "key"]
_SHOWN = "rate_limit"  # request-state key of the (decision, window) the headers report


def client_ip(request: HTTPConnection) -> str:
    # Behind a proxy, uvicorn puts X-Forwarded-For here when FORWARDED_ALLOW_IPS trusts the proxy.
    return request.client.host if request.client else "unknown"


def limit_headers(decision: RateDecision, window_seconds: int) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(max(1, math.ceil(decision.reset_seconds))),
        "RateLimit-Policy": f"{decision.limit};w={window_seconds}",
    }


async def _charge(request: HTTPConnection, state: StateDep, kind: Kind, who: Who, key: str) -> None:
    budget: Budget = getattr(state.rate_budgets, kind)
    limit = budget.per_ip if who == "ip" else budget.per_user
    if limit <= 0:
        return
    decision = await state.rate_limiter.hit(
        f"ratelimit:{kind}:{who}:{key}", limit=limit, window_seconds=budget.window_seconds
    )
    shown: tuple[RateDecision, int] | None = getattr(request.state, _SHOWN, None)
    if shown is None or decision.remaining <= shown[0].remaining:
        setattr(request.state, _SHOWN, (decision, budget.window_seconds))
    if not decision.allowed:
        headers = limit_headers(decision, budget.window_seconds)
        headers["Retry-After"] = headers["RateLimit-Reset"]
        noun = {"submit": "submissions", "read": "reads", "auth": "sign-in attempts"}[kind]
        source = {"ip": "client address", "user": "account", "key": "API key"}[who]
        raise HTTPException(
            429,
            f"too many {noun} from this {source}: "
            f"{limit} per {budget.window_seconds} s; retry in {headers['Retry-After']} s",
            headers=headers,
        )


def _per_ip(kind: Kind) -> Callable[[Request, StateDep], Awaitable[None]]:
    async def limit_ip(request: Request, state: StateDep) -> None:
        await _charge(request, state, kind, "ip", client_ip(request))

    limit_ip.__name__ = f"limit_{kind}_per_ip"
    return limit_ip


limit_submit_per_ip = _per_ip("submit")
limit_read_per_ip = _per_ip("read")
limit_auth_per_ip = _per_ip("auth")


async def _charge_principal(
    request: HTTPConnection, state: StateDep, kind: Kind, principal: Principal
) -> None:
    """Each API key has its own budget (the per-user numbers); a session its account's."""
    if principal.key_id is not None:
        await _charge(request, state, kind, "key", principal.key_id)
    else:
        await _charge(request, state, kind, "user", principal.id)


def _require(principal: Principal, scope: KeyScope) -> None:
    if not principal.allows(scope):
        raise HTTPException(403, f"this API key lacks the {scope} scope")


# The IP budget is charged before the credential is checked, so guessing tokens costs budget too.
async def submit_principal(
    _: Annotated[None, Depends(limit_submit_per_ip)],
    principal: PrincipalDep,
    request: Request,
    state: StateDep,
) -> Principal:
    _require(principal, KeyScope.EXECUTIONS_WRITE)
    await _charge_principal(request, state, "submit", principal)
    return principal


async def read_principal(
    _: Annotated[None, Depends(limit_read_per_ip)],
    principal: PrincipalDep,
    request: Request,
    state: StateDep,
) -> Principal:
    _require(principal, KeyScope.EXECUTIONS_READ)
    await _charge_principal(request, state, "read", principal)
    return principal


async def account_principal(
    _: Annotated[None, Depends(limit_read_per_ip)],
    principal: PrincipalDep,
    request: Request,
    state: StateDep,
) -> Principal:
    """Any credential, whatever its scopes (who am I)."""
    await _charge_principal(request, state, "read", principal)
    return principal


async def session_principal(
    _: Annotated[None, Depends(limit_read_per_ip)],
    principal: PrincipalDep,
    request: Request,
    state: StateDep,
) -> Principal:
    """A signed-in session: an API key may not manage keys or end sessions."""
    if principal.key_id is not None:
        raise HTTPException(
            403, "an API key cannot do this; sign in with your password (POST /api/v1/auth/login)"
        )
    await _charge_principal(request, state, "read", principal)
    return principal


async def charge_another_submission(
    request: Request, state: StateDep, principal: Principal
) -> None:
    """Charge one more submission (a batch's items after the first); HTTPException 429 if over."""
    await _charge(request, state, "submit", "ip", client_ip(request))
    await _charge_principal(request, state, "submit", principal)


async def charge_submit(connection: HTTPConnection, state: ApiState, principal: Principal) -> None:
    """The submit budgets, for a route that takes no dependencies (a WebSocket's)."""
    _require(principal, KeyScope.EXECUTIONS_WRITE)
    await _charge(connection, state, "submit", "ip", client_ip(connection))
    await _charge_principal(connection, state, "submit", principal)


SubmitPrincipal = Annotated[Principal, Depends(submit_principal)]
ReadPrincipal = Annotated[Principal, Depends(read_principal)]
AccountPrincipal = Annotated[Principal, Depends(account_principal)]
SessionPrincipal = Annotated[Principal, Depends(session_principal)]


class RateLimitHeaders:
    """Adds the RateLimit-* headers a dependency recorded to whatever response goes out."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            shown = state.get(_SHOWN)
            if message["type"] == "http.response.start" and shown is not None:
                headers = MutableHeaders(scope=message)
                for name, value in limit_headers(*shown).items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self._app(scope, receive, send_with_headers)
