"""The dashboard's static files: where they are served and how they are cached."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from gateway.dashboard import IMMUTABLE, Dashboard

REPO = Path(__file__).resolve().parents[2]
INDEX = '<!doctype html><div id="root"></div><script type="module" src="/app/assets/dashboard-AbC123.js"></script>'


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A build output as Vite lays it out (entry pages, content-hashed assets)."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "graphiql.html").write_text("<title>GraphiQL</title>")
    (tmp_path / "assets" / "dashboard-AbC123.js").write_text("console.log('hi')")
    return tmp_path


async def _client(directory: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=Dashboard(directory).routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://collab.test") as client:
        yield client


@pytest.fixture
async def web(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(dist):
        yield client


async def test_root_redirects_to_the_dashboard(web: httpx.AsyncClient) -> None:
    r = await web.get("/")
    assert r.status_code == 307
    assert r.headers["location"] == "/app"


@pytest.mark.parametrize("path", ["/app", "/app/", "/app/shared-by-me/roles",
                                  "/app/shared/owner-id/environment-id"])  # fmt: skip
async def test_every_dashboard_address_is_the_app_revalidated_each_time(
    web: httpx.AsyncClient, path: str
) -> None:
    r = await web.get(path)
    assert r.status_code == 200
    assert r.text == INDEX
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    again = await web.get(path, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_hashed_assets_are_immutable(web: httpx.AsyncClient) -> None:
    r = await web.get("/app/assets/dashboard-AbC123.js")
    assert r.status_code == 200
    assert r.headers["cache-control"] == IMMUTABLE
    assert "javascript" in r.headers["content-type"]
    missing = await web.get("/app/assets/dashboard-Gone99.js")
    assert missing.status_code == 404  # never the index page under an asset's name


async def test_an_unbuilt_dashboard_says_how_to_build_it(tmp_path: Path) -> None:
    async for client in _client(tmp_path / "nothing-here"):
        r = await client.get("/app")
        assert r.status_code == 503
        assert "npm ci &amp;&amp; npm run build" in r.text


async def test_graphiql_is_our_own_build_not_the_cdn(http: httpx.AsyncClient) -> None:
    r = await http.get("/graphql", headers={"accept": "text/html"})
    if r.status_code == 503:
        pytest.skip("web/dist is not built (./scripts/test.sh builds it)")
    assert r.status_code == 200
    assert "GraphiQL" in r.text
    assert "unpkg.com" not in r.text and "jsdelivr" not in r.text
    assert '<script type="module" crossorigin src="/app/assets/' in r.text


def test_the_dashboard_is_typed_against_the_current_schema() -> None:
    """web/schema.graphql feeds GraphQL Code Generator; it must be `collab schema` output."""
    sdl = subprocess.run([sys.executable, "-m", "collab.cli", "schema"], cwd=REPO,
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    committed = (REPO / "web" / "schema.graphql").read_text()
    assert committed == sdl, "run `npm run schema` in web/ and commit web/schema.graphql"
