"""Health and readiness, and the refusal to run on an unmigrated database."""

from __future__ import annotations

import httpx
import pytest
from tortoise import Tortoise

from domain.migrations import UnmigratedDatabase
from gateway.app import create_app
from infra.settings import Settings


async def test_healthz_and_readyz(http):
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "down": [], "database": "ok", "redis": "ok"}


async def test_readyz_reports_redis_down(settings, tmp_path):
    down = settings.model_copy(update={"REDIS_URL": "redis://127.0.0.1:1/0"})
    app = create_app(down)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["redis"].startswith("down")
    assert r.json()["database"] == "ok"
    assert r.json()["down"] == ["redis"]


async def test_graphiql_is_served_on_get(http):
    r = await http.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert "graphiql" in r.text.lower()


async def test_the_app_refuses_an_unmigrated_database(tmp_path):
    settings = Settings(_env_file=None, DATABASE_URL=f"sqlite://{tmp_path / 'empty.db'}")  # type: ignore[call-arg]
    app = create_app(settings)
    with pytest.raises(UnmigratedDatabase, match="collab migrate"):
        async with app.router.lifespan_context(app):
            pass
    await Tortoise.close_connections()


async def test_unexpected_errors_are_masked(gql, monkeypatch, caplog):
    from domain import accounts

    async def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(accounts, "insert_account", boom)
    r = await gql(
        'mutation { signUp(email: "x@collab.example", password: "longenough") { token } }'
    )
    assert r.status == 200
    assert r.codes() == ["INTERNAL_SERVER_ERROR"]
    assert "secret" not in str(r.body)
    # The client can quote the request id; the log holds the stack under it.
    request_id = r.errors[0]["extensions"]["requestId"]
    assert r.errors[0]["message"] == f"Internal error (request {request_id})"
    [record] = [x for x in caplog.records if request_id in x.getMessage()]
    assert record.exc_info is not None and "secret internals" in caplog.text
    assert "longenough" not in caplog.text  # the query text (and its password) is not logged


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_collab_refuses_an_unmigrated_database_with_a_clear_message(tmp_path, command):
    import os
    import subprocess

    from tests.utils.processes import COLLAB, REPO

    env = {**os.environ, "DATABASE_URL": f"sqlite://{tmp_path / 'empty.db'}"}
    done = subprocess.run(
        [*COLLAB, command], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "not migrated" in done.stderr and "collab migrate" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
