"""Who is asking: a Bearer token, or the session cookie (with a CSRF check on writes)."""

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from sandpod.api.deps import StateDep
from sandpod.api.state import ApiState
from sandpod.domain.api_keys import KEY_PREFIX
from sandpod.domain.principals import Principal
from sandpod.domain.tokens import IssuedToken
from sandpod.services.accounts import Authenticated
from sandpod.services.errors import AuthenticationError

SESSION_COOKIE = "sandpod_session"
CSRF_COOKIE = "sandpod_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOCAL_PRINCIPAL = Principal(id="local", is_admin=True)

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An access token from `POST /api/v1/auth/login` (the CLI, scripts), or an API "
    "key from `POST /api/v1/auth/keys` (`spk_...`, long-lived, limited to its scopes).",
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="The session cookie set by login (browsers); writes also need the "
    f"`{CSRF_HEADER}` header equal to the `{CSRF_COOKIE}` cookie.",
)


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="sandpod"'})


async def current_principal(
    request: Request,
    state: StateDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    if state.accounts is None:
        return LOCAL_PRINCIPAL  # authentication is off: embedded mode on loopback
    found = await _authenticate(state, bearer.credentials if bearer else None, cookie)
    if not isinstance(found, Authenticated):
        return found
    authenticated, from_cookie = found, bearer is None
    # A browser attaches cookies to cross-site requests too; only our own page can read the CSRF
    # cookie and echo it. Bearer tokens are never attached by a browser, so they need no check.
    if from_cookie and request.method in UNSAFE_METHODS:
        expected = state.accounts.tokens.csrf_token(authenticated.claims.token_id).encode()
        # As bytes: compare_digest refuses non-ASCII str, and a header may hold any latin-1 text.
        sent = request.headers.get(CSRF_HEADER, "").encode("utf-8", "surrogateescape")
        echoed = request.cookies.get(CSRF_COOKIE, "").encode("utf-8", "surrogateescape")
        if not (sent and hmac.compare_digest(sent, echoed) and hmac.compare_digest(sent, expected)):
            raise HTTPException(
                403,
                f"cookie-authenticated writes need the {CSRF_HEADER} header "
                f"equal to the {CSRF_COOKIE} cookie",
            )
    return authenticated.principal


async def _authenticate(
    state: ApiState, bearer: str | None, cookie: str | None
) -> Principal | Authenticated:
    """The API key's principal, or the token's (bearer first, else the cookie); 401 if none."""
    assert state.accounts is not None
    if bearer is not None and bearer.startswith(KEY_PREFIX) and state.api_keys:
        try:
            return await state.api_keys.authenticate(bearer)
        except AuthenticationError as error:
            raise unauthorized(str(error)) from error
    token = bearer if bearer is not None else cookie
    if not token:
        raise unauthorized(
            "sign in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/login"
        )
    try:
        return await state.accounts.authenticate(token)
    except AuthenticationError as error:
        raise unauthorized(str(error)) from error


async def websocket_principal(connection: HTTPConnection, state: ApiState) -> Principal:
    """Who opens a WebSocket: a Bearer token or API key, or the session cookie. A browser sends
    no CSRF header on a WebSocket, so a cookie counts only from a page of this very origin."""
    if state.accounts is None:
        return LOCAL_PRINCIPAL
    authorization = connection.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None
    cookie = connection.cookies.get(SESSION_COOKIE)
    if bearer is None and cookie:
        origin = connection.headers.get("origin", "")
        host = connection.headers.get("host", "")
        if not host or origin.partition("://")[2] != host:
            raise HTTPException(
                403, "a session cookie opens a WebSocket only from this server's own page"
            )
    found = await _authenticate(state, bearer, cookie)
    return found.principal if isinstance(found, Authenticated) else found


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def set_session_cookies(response: Response, issued: IssuedToken, csrf: str, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=issued.expires_in,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    # Readable by the page's script (not httpOnly) so it can echo it in the CSRF header.
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=issued.expires_in,
        path="/",
        secure=secure,
        httponly=False,
        samesite="lax",
    )


def clear_session_cookies(response: Response, secure: bool) -> None:
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=secure, httponly=httponly, samesite="lax")
