"""The dashboard (`web/`, built by Vite) and GraphiQL, served as static files, same origin.

Vite names every asset by its content hash, so `/app/assets/*` is cached for a year as
immutable; the HTML entry points change with each build and are `no-cache` (always
revalidated, answered 304 while unchanged). Every other `/app/...` address is the
single-page app's own route and answers with its index page.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# Same origin only: the API is /graphql on this host (ws: for graphql-transport-ws).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>Dashboard not built · collab-gateway</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The dashboard (and GraphiQL) is not built</h1>
<p>Build it once with Node.js 20 or newer:</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p><code>./scripts/quickstart.sh</code> and <code>./scripts/test.sh</code> do this for you.
The GraphQL API itself answers at <code>POST /graphql</code>.</p></body></html>"""


class HashedAssets(StaticFiles):
    """Static files whose names carry their content hash: cache them forever."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
        status_code: int = 200,
    ) -> Response:  # fmt: skip
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


class Dashboard:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def page(self, request: Request, name: str) -> Response:
        """An HTML entry point, revalidated on every load (304 while unchanged)."""
        path = self.directory / name
        if not path.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
        body = path.read_bytes()  # a few hundred bytes: the assets carry the weight
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {**PAGE_HEADERS, "Cache-Control": REVALIDATE, "ETag": etag}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return HTMLResponse(body, headers=headers)

    async def app(self, request: Request) -> Response:
        return self.page(request, "index.html")

    async def root(self, request: Request) -> Response:
        return RedirectResponse("/app", status_code=307)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.root, methods=["GET", "HEAD"]),
            Mount(
                "/app/assets", HashedAssets(directory=self.directory / "assets", check_dir=False)
            ),
            Route("/app", self.app, methods=["GET", "HEAD"]),
            Route("/app/{path:path}", self.app, methods=["GET", "HEAD"]),
        ]
