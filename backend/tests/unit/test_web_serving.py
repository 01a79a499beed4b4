"""The API serves the built web page at `/` without hiding its own 404s under /api."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sandpod.api.app import create_app
from sandpod.api.web import CONTENT_SECURITY_POLICY, IMMUTABLE

INDEX = '<!doctype html><script type="module" src="/assets/index-abc123.js"></script>'
SCRIPT = "console.log('sandpod');" * 50


def built(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text(SCRIPT)
    (root / "favicon.svg").write_text("<svg/>")
    (root.parent / "secret.txt").write_text("not for the web")
    return root


async def client_for(web_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(web_dir=web_dir))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(built(tmp_path / "static")):
        yield client


async def test_the_page_is_served_with_a_strict_policy(http: httpx.AsyncClient) -> None:
    for path in ("/", "/history", "/scripts", "/no/such/page"):
        response = await http.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY


async def test_hashed_assets_are_cached_for_good_and_gzipped(http: httpx.AsyncClient) -> None:
    response = await http.get("/assets/index-abc123.js", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == SCRIPT  # httpx decodes it
    assert int(response.headers["content-length"]) < len(SCRIPT)
    plain = await http.get("/assets/index-abc123.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == SCRIPT
    icon = await http.get("/favicon.svg")
    assert icon.headers["cache-control"] == "no-cache"  # not hashed: revalidated


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_unknown_api_routes_stay_problem_404s(http: httpx.AsyncClient, method: str) -> None:
    for path in ("/api/v1/no-such-route", "/api", "/api/"):
        response = await http.request(method, path)
        assert response.status_code == 404, (method, path)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await http.get("/api/v1/health/live")).json()["status"] == "ok"


@pytest.mark.parametrize(
    "path", ["/assets/missing-1.js", "/robots.txt", "/..%2fsecret.txt", "/assets/../../secret.txt"]
)
async def test_missing_files_are_404s_and_nothing_outside_is_served(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(path)
    assert "not for the web" not in response.text
    assert response.status_code in (404, 200)
    if response.status_code == 200:
        assert response.text == INDEX  # a normalised path that is a page route


async def test_a_missing_build_says_how_to_build_it(tmp_path: Path) -> None:
    async for http in client_for(tmp_path / "nothing"):
        response = await http.get("/")
        assert response.status_code == 404
        assert "make web-build" in response.json()["detail"]
