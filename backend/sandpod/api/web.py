"""Serve the built web page at `/`: hashed assets cached for a year, index.html for client routes.

Paths under /api are never answered with the page, so an unknown API route stays a problem+json
404 (and a wrong method a 405) instead of an HTML page with status 200.
"""

import gzip
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, Response
from starlette.convertors import Convertor, register_url_convertor

# No inline script or style, nothing from another origin. CodeMirror's styles are constructed
# style sheets, which style-src does not govern; Svelte's component CSS is an extracted file.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate: a new build must be seen at once
}
# Vite puts a content hash in every name under assets/, so a name's content never changes.
IMMUTABLE = "public, max-age=31536000, immutable"
COMPRESSIBLE = frozenset({".js", ".css", ".svg", ".html", ".json", ".txt", ".map"})
NOT_BUILT = (
    "the web page is not built into this install: run `make web-build` "
    "(`make run` and `make setup` build it); the API is under /api/v1"
)


class PagePath(Convertor[str]):
    """Any path except /api and below (those stay the API's, with its 404s)."""

    regex = r"(?!api(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("page", PagePath())


@lru_cache(maxsize=256)
def _gzipped(path: Path, mtime_ns: int) -> bytes:
    # Keyed by mtime too, so a rebuild while the server runs is picked up.
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def _file(request: Request, path: Path, headers: dict[str, str]) -> Response:
    wants_gzip = "gzip" in request.headers.get("accept-encoding", "")
    if wants_gzip and path.suffix in COMPRESSIBLE:
        media_type = FileResponse(path).media_type
        body = _gzipped(path, path.stat().st_mtime_ns)
        return Response(
            body,
            media_type=media_type,
            headers={**headers, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return FileResponse(path, headers={**headers, "Vary": "Accept-Encoding"})


def install_web_page(app: FastAPI, directory: Path) -> None:
    """Add the page's catch-all route; call it after every API route is included."""
    root = directory.resolve()

    async def page(request: Request, path: str) -> Response:
        index = root / "index.html"
        if not index.is_file():
            raise HTTPException(404, NOT_BUILT)
        wanted = (root / path).resolve()
        if path and wanted.is_relative_to(root) and wanted.is_file():
            immutable = wanted.is_relative_to(root / "assets")
            return _file(request, wanted, {"Cache-Control": IMMUTABLE if immutable else "no-cache"})
        last = path.rsplit("/", 1)[-1]
        if path.startswith("assets/") or "." in last:
            raise HTTPException(404, f"no file /{path}")  # a missing file is not a page route
        return _file(request, index, dict(PAGE_HEADERS))

    route_options: dict[str, Any] = {"include_in_schema": False, "methods": ["GET", "HEAD"]}
    app.add_api_route("/{path:page}", page, **route_options)
