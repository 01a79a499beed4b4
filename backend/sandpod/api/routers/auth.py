"""/api/v1/auth: register, sign in (token in the body and in an httpOnly cookie), sign out, me."""

from fastapi import APIRouter, Depends, HTTPException, Response

from sandpod.api.auth import clear_session_cookies, set_session_cookies
from sandpod.api.deps import StateDep
from sandpod.api.problems import problem_responses
from sandpod.api.rate_limits import (
    AccountPrincipal,
    SessionPrincipal,
    limit_auth_per_ip,
    limit_read_per_ip,
)
from sandpod.api.schemas import AccessToken, AuthSettings, Credentials, Registration, UserOut
from sandpod.api.state import ApiState
from sandpod.domain.users import Role
from sandpod.services.accounts import AccountService

router = APIRouter(prefix="/auth", tags=["auth"])

OFF = (
    "accounts are off on this server: it runs without authentication "
    "(embedded mode bound to loopback), and every request acts as the local admin"
)


def accounts_of(state: ApiState) -> AccountService:
    if state.accounts is None:
        raise HTTPException(404, OFF)
    return state.accounts


@router.get(
    "/settings",
    response_model=AuthSettings,
    dependencies=[Depends(limit_read_per_ip)],  # public, so limited per client address only
    responses=problem_responses(429),
    summary="Whether this server has accounts, and whether registration is open",
)
async def auth_settings(state: StateDep) -> AuthSettings:
    if state.accounts is None:
        return AuthSettings(accounts=False, registration_open=False)
    return AuthSettings(accounts=True, registration_open=state.accounts.registration_open)


@router.post(
    "/register",
    status_code=201,
    response_model=UserOut,
    dependencies=[Depends(limit_auth_per_ip)],
    responses=problem_responses(403, 404, 409, 422, 429),
    summary="Create a user account",
)
async def register(body: Registration, state: StateDep) -> UserOut:
    user = await accounts_of(state).register(body.username, body.password)
    return UserOut.of(user)


@router.post(
    "/login",
    response_model=AccessToken,
    dependencies=[Depends(limit_auth_per_ip)],
    responses=problem_responses(401, 404, 422, 429),
    summary="Sign in: a Bearer token in the body, and a session cookie for browsers",
    description="Also sets the httpOnly `sandpod_session` cookie and the `sandpod_csrf` cookie; "
    "cookie-authenticated writes must echo the latter in the `X-CSRF-Token` header. Unknown "
    "users, wrong passwords and locked accounts all get the same 401.",
)
async def login(body: Credentials, state: StateDep, response: Response) -> AccessToken:
    accounts = accounts_of(state)
    issued = await accounts.login(body.username, body.password)
    csrf = accounts.tokens.csrf_token(issued.claims.token_id)
    set_session_cookies(response, issued, csrf, state.secure_cookies)
    response.headers["Cache-Control"] = "no-store"
    return AccessToken(access_token=issued.token, expires_in=issued.expires_in)


@router.post(
    "/logout",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 429),
    summary="Sign out everywhere: every token issued so far stops working",
)
async def logout(principal: SessionPrincipal, state: StateDep) -> Response:
    await accounts_of(state).logout(principal)
    response = Response(status_code=204)
    clear_session_cookies(response, state.secure_cookies)
    return response


@router.get(
    "/me",
    response_model=UserOut,
    responses=problem_responses(401, 429),
    summary="The signed-in account",
)
async def me(principal: AccountPrincipal, state: StateDep) -> UserOut:
    if state.accounts is None:
        return UserOut(id=principal.id, username=principal.id, role=Role.ADMIN)
    user = await state.accounts.get(principal.id)
    if user is None:  # deleted between the token check and now
        raise HTTPException(401, "this account no longer exists")
    return UserOut.of(user)
