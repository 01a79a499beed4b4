"""Accounts, ownership and rate limits over HTTP: the in-process app with a fake sandbox."""

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from sandpod.adapters.auth.tokens import ISSUER
from sandpod.composition.embedded import embedded_app
from sandpod.config import ApiSettings, AuthSettings, RateLimitSettings, Settings
from tests.fakes import FakeSandbox
from tests.fixtures.apps import api_client
from tests.waiting import eventually

API = "/api/v1"
EXECUTIONS = f"{API}/executions"
SCRIPTS = f"{API}/scripts"
SCRIPT = {"name": "hello", "runtime": "python:3.12", "content": "print(1)"}
SECRET = "integration-test-secret-" + "x" * 24
ADMIN_PASSWORD = "admin-passphrase-for-tests"
PASSWORD = "a long passphrase 42"
BAD_LOGIN = "invalid username or password"


def settings(
    *, rate_limits: dict[str, Any] | None = None, host: str = "127.0.0.1", **auth: Any
) -> Settings:
    base: dict[str, Any] = {
        "auth_required": True,
        "jwt_secret": SECRET,
        "admin_username": "root",
        "admin_password": ADMIN_PASSWORD,
        # cheap hashing keeps the suite fast; production uses the defaults
        "password_hash_memory_kib": 1024,
        "password_hash_time_cost": 1,
    }
    return Settings(
        host=host,
        auth=AuthSettings(**{**base, **auth}),
        rate_limits=RateLimitSettings(**(rate_limits or {})),
        api=ApiSettings(sse_heartbeat_seconds=1),
    )


async def register(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> None:
    response = await http.post(
        f"{API}/auth/register", json={"username": username, "password": password}
    )
    assert response.status_code == 201, response.text


async def token(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    response = await http.post(
        f"{API}/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    http.cookies.clear()  # these tests choose per request between Bearer and cookie
    value: str = response.json()["access_token"]
    return value


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def wait_status(
    http: httpx.AsyncClient, execution_id: str, headers: dict[str, str], wanted: set[str]
) -> str:
    seen: list[str] = []

    async def reached() -> bool:
        response = await http.get(f"{EXECUTIONS}/{execution_id}", headers=headers)
        seen.append(str(response.json()["status"]))
        return seen[-1] in wanted

    await eventually(reached, timeout=3, what=f"{execution_id} to reach {wanted}")
    return seen[-1]


@dataclass
class World:
    http: httpx.AsyncClient
    headers: dict[str, dict[str, str]]  # who -> request headers
    done: str  # alice's finished execution
    running: str  # alice's execution that blocks until cancelled
    script: str  # alice's saved script
    key: str  # id of alice's write-only API key
    interactive: str  # alice's interactive execution that blocks until cancelled
    app: FastAPI


async def api_key(http: httpx.AsyncClient, headers: dict[str, str], scope: str) -> dict[str, str]:
    response = await http.post(
        f"{API}/auth/keys", json={"name": scope, "scopes": [scope]}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


@pytest.fixture
async def world() -> AsyncIterator[World]:
    app = embedded_app(settings(), FakeSandbox())
    async with api_client(app) as http:
        await register(http, "alice")
        await register(http, "bob")
        headers = {
            "anonymous": {},
            "owner": bearer(await token(http, "alice")),
            "other": bearer(await token(http, "bob")),
            "admin": bearer(await token(http, "root", ADMIN_PASSWORD)),
        }
        reader = await api_key(http, headers["owner"], "executions:read")
        writer = await api_key(http, headers["owner"], "executions:write")
        headers["key_read"] = bearer(reader["key"])
        headers["key_write"] = bearer(writer["key"])
        submit = {"runtime": "python:3.12", "script": "print(1)"}
        done = (await http.post(EXECUTIONS, json=submit, headers=headers["owner"])).json()["id"]
        block = {"runtime": "python:3.12", "script": "# block"}
        running_id = (await http.post(EXECUTIONS, json=block, headers=headers["owner"])).json()[
            "id"
        ]
        block_interactive = {**block, "interactive": True}
        interactive = await http.post(EXECUTIONS, json=block_interactive, headers=headers["owner"])
        assert interactive.status_code == 202, interactive.text
        interactive_id = interactive.json()["id"]
        await wait_status(http, done, headers["owner"], {"completed"})
        await wait_status(http, running_id, headers["owner"], {"running"})
        await wait_status(http, interactive_id, headers["owner"], {"running"})
        saved = await http.post(SCRIPTS, json=SCRIPT, headers=headers["owner"])
        assert saved.status_code == 201, saved.text
        yield World(
            http, headers, done, running_id, saved.json()["id"], writer["id"], interactive_id, app
        )


# alice's API keys: one that may only read executions, one that may only write them, so each
# endpoint is tried with a key that has its scope and with one that lacks it.
WHO = ("anonymous", "owner", "other", "admin", "key_read", "key_write")
SUBMIT = {"runtime": "python:3.12", "script": "print(2)"}
FILTERS = "/executions?runtime=python:3.12&created_after=2026-01-01T00:00:00Z"
# (method, path, body, expected status for each of WHO)
MATRIX: list[tuple[str, str, dict[str, Any] | None, tuple[int, ...]]] = [
    ("POST", "/executions", SUBMIT, (401, 202, 202, 202, 403, 202)),
    ("POST", "/executions?wait=5", SUBMIT, (401, 200, 200, 200, 403, 200)),
    ("POST", "/executions/batch", {"items": [SUBMIT]}, (401, 200, 200, 200, 403, 200)),
    ("GET", "/executions", None, (401, 200, 200, 200, 200, 403)),
    ("GET", "/executions?all=true", None, (401, 200, 200, 200, 200, 403)),
    ("GET", FILTERS, None, (401, 200, 200, 200, 200, 403)),
    ("GET", "/executions/{done}", None, (401, 200, 404, 200, 200, 403)),
    ("GET", "/executions/{done}/events", None, (401, 200, 404, 200, 200, 403)),
    ("POST", "/executions/{running}/cancel", None, (401, 202, 404, 202, 403, 202)),
    ("POST", "/executions/{done}/cancel", None, (401, 409, 404, 409, 403, 409)),
    ("POST", "/executions/{done}/retry", None, (401, 202, 404, 202, 403, 202)),
    ("DELETE", "/executions/{done}", None, (401, 204, 404, 204, 403, 204)),
    ("DELETE", "/executions/{running}", None, (401, 409, 404, 409, 403, 409)),
    ("GET", "/executions/ex_unknown", None, (401, 404, 404, 404, 404, 403)),
    ("POST", "/scripts", SCRIPT, (401, 201, 201, 201, 403, 201)),
    ("GET", "/scripts", None, (401, 200, 200, 200, 200, 403)),
    ("GET", "/scripts?all=true", None, (401, 200, 200, 200, 200, 403)),
    ("GET", "/scripts/{script}", None, (401, 200, 404, 200, 200, 403)),
    ("PATCH", "/scripts/{script}", {"name": "renamed"}, (401, 200, 404, 200, 403, 200)),
    ("DELETE", "/scripts/{script}", None, (401, 204, 404, 204, 403, 204)),
    ("GET", "/scripts/sc_unknown", None, (401, 404, 404, 404, 404, 403)),
    ("GET", "/auth/settings", None, (200, 200, 200, 200, 200, 200)),
    ("POST", "/auth/keys", {"name": "k"}, (401, 201, 201, 201, 403, 403)),
    ("GET", "/auth/keys", None, (401, 200, 200, 200, 403, 403)),
    ("DELETE", "/auth/keys/{key}", None, (401, 200, 404, 200, 403, 403)),
    ("GET", "/webhooks/secret", None, (401, 200, 200, 200, 403, 403)),
    ("POST", "/webhooks/secret/rotate", None, (401, 200, 200, 200, 403, 403)),
    ("GET", "/auth/me", None, (401, 200, 200, 200, 200, 200)),
    ("POST", "/auth/logout", None, (401, 204, 204, 204, 403, 403)),
    ("GET", "/runtimes", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/health/live", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/health/ready", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/openapi.json", None, (200, 200, 200, 200, 200, 200)),
]
LIMITED = (
    "/executions",
    "/scripts",
    "/auth/me",
    "/auth/logout",
    "/auth/settings",
    "/runtimes",
    "/webhooks",
)


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "expected"),
    [
        pytest.param(method, path, body, who, statuses[i], id=f"{method} {path} as {who}")
        for method, path, body, statuses in MATRIX
        for i, who in enumerate(WHO)
    ],
)
async def test_authorization_matrix(
    world: World,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    who: str,
    expected: int,
) -> None:
    url = API + path.format(
        done=world.done, running=world.running, script=world.script, key=world.key
    )
    response = await world.http.request(method, url, json=body, headers=world.headers[who])
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    if expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if path.startswith(LIMITED):  # whatever the outcome, the budget left is reported
        assert "ratelimit-remaining" in response.headers


@pytest.mark.parametrize("who", ["owner", "other", "admin"])
async def test_lists_show_only_your_own_unless_an_admin_asks_for_all(
    world: World, who: str
) -> None:
    own = await world.http.get(EXECUTIONS, headers=world.headers[who])
    everyone = await world.http.get(EXECUTIONS, params={"all": "true"}, headers=world.headers[who])
    own_ids = {item["id"] for item in own.json()["items"]}
    all_ids = {item["id"] for item in everyone.json()["items"]}
    alice = {world.done, world.running, world.interactive}
    assert own_ids == (alice if who == "owner" else set())
    assert all_ids == (alice if who in ("owner", "admin") else set())


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("GET", "/events"), ("POST", "/cancel")]
)
async def test_another_users_execution_looks_like_no_execution(
    world: World, method: str, suffix: str
) -> None:
    theirs = await world.http.request(
        method, f"{EXECUTIONS}/{world.running}{suffix}", headers=world.headers["other"]
    )
    missing = await world.http.request(
        method, f"{EXECUTIONS}/ex_nope{suffix}", headers=world.headers["other"]
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"].replace(world.running, "ID") == missing.json()["detail"].replace(
        "ex_nope", "ID"
    )
    still = await world.http.get(f"{EXECUTIONS}/{world.running}", headers=world.headers["owner"])
    assert still.json()["status"] == "running"  # bob's cancel did nothing


@pytest.mark.parametrize("who", ["owner", "other", "admin"])
async def test_script_lists_show_only_your_own_unless_an_admin_asks_for_all(
    world: World, who: str
) -> None:
    own = await world.http.get(SCRIPTS, headers=world.headers[who])
    everyone = await world.http.get(SCRIPTS, params={"all": "true"}, headers=world.headers[who])
    own_ids = {item["id"] for item in own.json()["items"]}
    all_ids = {item["id"] for item in everyone.json()["items"]}
    assert own_ids == ({world.script} if who == "owner" else set())
    assert all_ids == ({world.script} if who in ("owner", "admin") else set())


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"name": "mine now"}), ("DELETE", None)]
)
async def test_another_users_script_looks_like_no_script(
    world: World, method: str, body: dict[str, str] | None
) -> None:
    theirs = await world.http.request(
        method, f"{SCRIPTS}/{world.script}", json=body, headers=world.headers["other"]
    )
    missing = await world.http.request(
        method, f"{SCRIPTS}/sc_nope", json=body, headers=world.headers["other"]
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"].replace(world.script, "ID") == missing.json()["detail"].replace(
        "sc_nope", "ID"
    )
    still = await world.http.get(f"{SCRIPTS}/{world.script}", headers=world.headers["owner"])
    assert still.json()["name"] == SCRIPT["name"]  # bob changed nothing


async def test_a_script_is_saved_renamed_changed_and_deleted(world: World) -> None:
    owner = world.headers["owner"]
    url = f"{SCRIPTS}/{world.script}"
    stored = (await world.http.get(url, headers=owner)).json()
    assert {key: stored[key] for key in SCRIPT} == SCRIPT
    assert stored["stdin"] == ""
    assert "owner" not in stored
    renamed = await world.http.patch(url, json={"name": "  greeting  "}, headers=owner)
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["content"]) == ("greeting", SCRIPT["content"])
    assert renamed.json()["updated_at"] >= stored["updated_at"]
    changed = await world.http.patch(
        url, json={"content": "print(input())", "stdin": "hi"}, headers=owner
    )
    assert (changed.json()["name"], changed.json()["content"], changed.json()["stdin"]) == (
        "greeting",
        "print(input())",
        "hi",
    )
    assert (await world.http.get(url, headers=owner)).json() == changed.json()
    assert (await world.http.delete(url, headers=owner)).status_code == 204
    assert (await world.http.get(url, headers=owner)).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({**SCRIPT, "runtime": "cobol:1"}, 422, "unknown runtime 'cobol:1'"),
        ({**SCRIPT, "name": "   "}, 422, "name"),
        ({**SCRIPT, "name": "n" * 101}, 422, "name"),
        ({**SCRIPT, "owner": "usr_x"}, 422, "owner"),
        (
            {**SCRIPT, "content": "#" * (Settings().executions.max_script_bytes + 1)},
            413,
            "script is",
        ),
    ],
)
async def test_bad_scripts_are_a_clear_4xx_and_nothing_is_saved(
    world: World, body: dict[str, str], status: int, fragment: str
) -> None:
    owner = world.headers["owner"]
    response = await world.http.post(SCRIPTS, json=body, headers=owner)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]
    patched = await world.http.patch(
        f"{SCRIPTS}/{world.script}", json={"runtime": "cobol:1"}, headers=owner
    )
    assert patched.status_code == 422
    listed = (await world.http.get(SCRIPTS, headers=owner)).json()["items"]
    assert [(item["id"], item["runtime"]) for item in listed] == [(world.script, "python:3.12")]


async def test_script_writes_spend_the_submit_budget() -> None:
    async with api_client(settings(rate_limits={"submit_per_user": 2})) as http:
        await register(http, "mona")
        mona = bearer(await token(http, "mona"))
        assert (await http.post(SCRIPTS, json=SCRIPT, headers=mona)).status_code == 201
        assert (await http.post(EXECUTIONS, json=SUBMIT, headers=mona)).status_code == 202
        await assert_429(await http.post(SCRIPTS, json=SCRIPT, headers=mona), "submissions")
        assert (await http.get(SCRIPTS, headers=mona)).status_code == 200  # reads: own budget


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {"accounts": True, "registration_open": True}),
        ({"registration_open": False}, {"accounts": True, "registration_open": False}),
    ],
)
async def test_auth_settings_tell_a_page_how_to_sign_in(
    overrides: dict[str, Any], expected: dict[str, bool]
) -> None:
    async with api_client(settings(**overrides)) as http:
        response = await http.get(f"{API}/auth/settings")
        assert response.status_code == 200
        assert response.json() == expected


def forge(**claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "sub": "x", "role": "admin", "sv": 0, "jti": "j", "iat": now}
    payload |= {"exp": now + 600, **claims}
    return jwt.encode(payload, SECRET, algorithm="HS256")


async def test_expired_and_tampered_tokens_are_401(world: World) -> None:
    me = (await world.http.get(f"{API}/auth/me", headers=world.headers["owner"])).json()
    now = int(time.time())
    expired = forge(sub=me["id"], role="user", iat=now - 7200, exp=now - 3600)
    good = world.headers["owner"]["Authorization"].removeprefix("Bearer ")
    head, body, signature = good.split(".")
    tampered = f"{head}.{body}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    none_alg = jwt.encode({"sub": me["id"], "role": "admin"}, "", algorithm="none")
    cases = {
        expired: "expired",
        tampered: "not valid",
        none_alg: "not valid",
        forge(sub="usr_nobody"): "session has ended",
        "not-a-token": "not valid",
    }
    for value, fragment in cases.items():
        response = await world.http.get(f"{API}/auth/me", headers=bearer(value))
        assert response.status_code == 401, value
        assert fragment in response.json()["detail"]


async def test_role_in_a_forged_token_does_not_make_an_admin(world: World) -> None:
    me = (await world.http.get(f"{API}/auth/me", headers=world.headers["other"])).json()
    wrong_key = jwt.encode(
        {"iss": ISSUER, "sub": me["id"], "role": "admin", "sv": 0, "jti": "j"}
        | {"iat": int(time.time()), "exp": int(time.time()) + 60},
        "another-secret-that-is-long-enough-to-sign",
        algorithm="HS256",
    )
    response = await world.http.get(f"{EXECUTIONS}/{world.done}", headers=bearer(wrong_key))
    assert response.status_code == 401


async def test_cookie_writes_need_the_csrf_header() -> None:
    app = embedded_app(settings(), FakeSandbox())
    async with api_client(app) as http:
        await register(http, "carol")
        login = await http.post(
            f"{API}/auth/login", json={"username": "carol", "password": PASSWORD}
        )
        cookies = login.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("sandpod_session="))
        csrf_cookie = next(c for c in cookies if c.startswith("sandpod_csrf="))
        assert "HttpOnly" in session
        assert "samesite=lax" in session.lower()
        assert "HttpOnly" not in csrf_cookie
        assert "Secure" not in session  # bound to loopback: plain http works
        csrf = http.cookies["sandpod_csrf"]

        assert (await http.get(f"{API}/auth/me")).status_code == 200  # reads need no header
        refused = await http.post(EXECUTIONS, json=SUBMIT)
        assert refused.status_code == 403
        assert "X-CSRF-Token" in refused.json()["detail"]
        for bad in (b"0" * 64, b"caf\xe9"):  # non-ASCII must be a 403, not a 500
            wrong = await http.post(EXECUTIONS, json=SUBMIT, headers={b"X-CSRF-Token": bad})
            assert wrong.status_code == 403
        accepted = await http.post(EXECUTIONS, json=SUBMIT, headers={"X-CSRF-Token": csrf})
        assert accepted.status_code == 202, accepted.text

        out = await http.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204
        assert "sandpod_session" not in http.cookies
        assert (await http.get(f"{API}/auth/me")).status_code == 401


async def test_bearer_writes_need_no_csrf_header(world: World) -> None:
    response = await world.http.post(EXECUTIONS, json=SUBMIT, headers=world.headers["other"])
    assert response.status_code == 202


async def test_cookies_are_secure_when_not_on_loopback() -> None:
    async with api_client(settings(host="0.0.0.0")) as http:
        await register(http, "dave")
        login = await http.post(
            f"{API}/auth/login", json={"username": "dave", "password": PASSWORD}
        )
        assert all("Secure" in c for c in login.headers.get_list("set-cookie"))


async def test_logout_ends_every_session_of_the_user(world: World) -> None:
    second = bearer(await token(world.http, "alice"))
    assert (await world.http.post(f"{API}/auth/logout", headers=second)).status_code == 204
    for headers in (second, world.headers["owner"]):
        response = await world.http.get(f"{API}/auth/me", headers=headers)
        assert response.status_code == 401
        assert "session has ended" in response.json()["detail"]
    again = bearer(await token(world.http, "alice"))
    assert (await world.http.get(f"{API}/auth/me", headers=again)).status_code == 200
    assert (await world.http.get(f"{API}/auth/me", headers=world.headers["other"])).is_success


async def test_me_and_the_seeded_admin(world: World) -> None:
    admin = (await world.http.get(f"{API}/auth/me", headers=world.headers["admin"])).json()
    assert (admin["username"], admin["role"]) == ("root", "admin")
    user = (await world.http.get(f"{API}/auth/me", headers=world.headers["owner"])).json()
    assert (user["username"], user["role"]) == ("alice", "user")
    assert user["id"].startswith("usr_")


async def test_lockout_after_repeated_failures_with_one_answer_for_everything() -> None:
    async with api_client(settings(login_max_failures=3)) as http:
        await register(http, "erin")

        async def login(username: str, password: str) -> httpx.Response:
            return await http.post(
                f"{API}/auth/login", json={"username": username, "password": password}
            )

        answers = [await login("erin", "wrong password!!") for _ in range(3)]
        answers.append(await login("nobody-here", "wrong password!!"))
        answers.append(await login("erin", PASSWORD))  # right password, but locked
        for answer in answers:
            assert answer.status_code == 401
            assert answer.json()["detail"] == BAD_LOGIN
            assert "set-cookie" not in answer.headers
        await register(http, "frank")
        assert (await login("FRANK", PASSWORD)).status_code == 200  # others are not locked


async def test_a_success_resets_the_failure_count() -> None:
    async with api_client(settings(login_max_failures=3)) as http:
        await register(http, "gina")

        async def fail() -> None:
            wrong = {"username": "gina", "password": "not the password"}
            assert (await http.post(f"{API}/auth/login", json=wrong)).status_code == 401

        for _ in range(2):
            await fail()
        await token(http, "gina")
        for _ in range(2):
            await fail()
        await token(http, "gina")  # 4 failures in all, never 3 in a row: not locked
        for _ in range(3):
            await fail()
        # 3 in a row do lock it: the count above was real, and the success reset it.
        locked = await http.post(
            f"{API}/auth/login", json={"username": "gina", "password": PASSWORD}
        )
        assert locked.status_code == 401, locked.text


async def assert_429(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-remaining"] == "0"
    assert fragment in response.json()["detail"]


async def test_submissions_are_limited_per_user_with_retry_after() -> None:
    async with api_client(settings(rate_limits={"submit_per_user": 2})) as http:
        await register(http, "hank")
        await register(http, "ivy")
        hank, ivy = bearer(await token(http, "hank")), bearer(await token(http, "ivy"))
        first = await http.post(EXECUTIONS, json=SUBMIT, headers=hank)
        assert first.status_code == 202
        assert first.headers["ratelimit-limit"] == "2"
        assert first.headers["ratelimit-remaining"] == "1"
        assert int(first.headers["ratelimit-reset"]) >= 1
        assert (await http.post(EXECUTIONS, json=SUBMIT, headers=hank)).status_code == 202
        await assert_429(await http.post(EXECUTIONS, json=SUBMIT, headers=hank), "submissions")
        # reads have their own budget, and other users theirs
        assert (await http.get(EXECUTIONS, headers=hank)).status_code == 200
        assert (await http.post(EXECUTIONS, json=SUBMIT, headers=ivy)).status_code == 202


async def test_reads_are_limited_per_client_address() -> None:
    async with api_client(settings(rate_limits={"read_per_ip": 3})) as http:
        for _ in range(3):
            assert (await http.get(f"{API}/runtimes")).status_code == 200
        await assert_429(await http.get(f"{API}/runtimes"), "client address")
        await assert_429(await http.get(EXECUTIONS), "client address")  # before the 401


async def test_sign_in_attempts_are_limited_per_client_address() -> None:
    async with api_client(settings(rate_limits={"auth_per_ip": 2})) as http:
        body = {"username": "nobody", "password": "whatever it is"}
        for _ in range(2):
            assert (await http.post(f"{API}/auth/login", json=body)).status_code == 401
        await assert_429(await http.post(f"{API}/auth/login", json=body), "sign-in attempts")


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short", "at least 12 characters"),
        ("judy-has-a-long-password", "must not contain the username"),
        ("password1234", "most common passwords"),
        ("x" * 257, "at most 256 characters"),
    ],
)
async def test_password_policy_is_a_clear_422(password: str, fragment: str) -> None:
    app = embedded_app(settings(), FakeSandbox())
    async with api_client(app) as http:
        response = await http.post(
            f"{API}/auth/register", json={"username": "judy", "password": password}
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert fragment in body["detail"]
        assert body["errors"][0]["field"] == "password"


async def test_usernames_are_unique_whatever_the_case() -> None:
    app = embedded_app(settings(), FakeSandbox())
    async with api_client(app) as http:
        await register(http, "Kim")
        again = await http.post(
            f"{API}/auth/register", json={"username": "kim", "password": PASSWORD}
        )
        assert again.status_code == 409
        assert "taken" in again.json()["detail"]
        bad = await http.post(
            f"{API}/auth/register", json={"username": "k m", "password": PASSWORD}
        )
        assert bad.status_code == 422


async def test_registration_can_be_closed() -> None:
    async with api_client(settings(registration_open=False)) as http:
        response = await http.post(
            f"{API}/auth/register", json={"username": "lee", "password": PASSWORD}
        )
        assert response.status_code == 403
        assert (await token(http, "root", ADMIN_PASSWORD)) != ""  # the seeded admin still works


async def test_without_auth_everyone_is_the_local_admin_and_accounts_are_off() -> None:
    async with api_client(Settings(api=ApiSettings(sse_heartbeat_seconds=1))) as http:
        me = (await http.get(f"{API}/auth/me")).json()
        assert (me["id"], me["role"]) == ("local", "admin")
        assert (await http.post(EXECUTIONS, json=SUBMIT)).status_code == 202
        login = await http.post(f"{API}/auth/login", json={"username": "a", "password": "b"})
        assert login.status_code == 404
        assert "accounts are off" in login.json()["detail"]
        off = (await http.get(f"{API}/auth/settings")).json()
        assert off == {"accounts": False, "registration_open": False}
        saved = await http.post(SCRIPTS, json=SCRIPT)
        assert saved.status_code == 201
        listed = (await http.get(SCRIPTS)).json()["items"]
        assert [item["id"] for item in listed] == [saved.json()["id"]]


async def test_each_user_has_a_webhook_secret_of_their_own(world: World) -> None:
    async def secret(who: str, path: str = "/webhooks/secret", method: str = "GET") -> str:
        response = await world.http.request(method, API + path, headers=world.headers[who])
        assert response.status_code == 200, response.text
        value: str = response.json()["secret"]
        return value

    mine, theirs, admins = await secret("owner"), await secret("other"), await secret("admin")
    assert len({mine, theirs, admins}) == 3
    rotated = await secret("admin", "/webhooks/secret/rotate", "POST")
    assert rotated != admins
    assert (await secret("owner"), await secret("other")) == (mine, theirs)


# WebSocket endpoints: 101 is an open connection; a refusal before it is the problem's status
# (here a close with code 4000 + status: the in-process transport has no denial responses).
WS_MATRIX: list[tuple[str, tuple[int, ...]]] = [
    ("/executions/{interactive}/attach", (401, 101, 404, 403, 403, 101)),
    ("/executions/{running}/attach", (401, 422, 404, 403, 403, 422)),
    ("/executions/{done}/attach", (401, 422, 404, 403, 403, 422)),
    ("/executions/ex_unknown/attach", (401, 404, 404, 404, 403, 404)),
]


async def websocket_status(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> int:
    try:
        async with aconnect_ws(url, http, headers=dict(headers)):  # it adds its own to them
            return 101
    except WebSocketDisconnect as closed:
        return closed.code - 4000 if closed.code > 4000 else closed.code
    except WebSocketUpgradeError as denied:
        return denied.response.status_code


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [
        pytest.param(path, who, statuses[i], id=f"WS {path} as {who}")
        for path, statuses in WS_MATRIX
        for i, who in enumerate(WHO)
    ],
)
async def test_websocket_authorization_matrix(
    world: World, path: str, who: str, expected: int
) -> None:
    url = (
        "http://test"
        + API
        + path.format(done=world.done, running=world.running, interactive=world.interactive)
    )
    # Its own client: the WebSocket transport's task group must open and close in this task.
    transport = ASGIWebSocketTransport(app=world.app, initial_receive_timeout=30)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert await websocket_status(http, url, world.headers[who]) == expected
