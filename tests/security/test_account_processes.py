"""Issue 19 against a real `collab serve` (SQLite and PostgreSQL): no live link token in
any log line, and a burst of sign-ups neither slows a logged-in query nor escapes the
per-address limit."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tortoise import Tortoise
from tortoise.backends.base import executor

from infra import logs
from infra.db import tortoise_config
from tests.conftest import port_open
from tests.utils import databases, processes
from tests.utils.accounts import PASSWORD

pytestmark = pytest.mark.slow

SIGN_UP = """mutation($email: String!, $password: String!) { signUp(email: $email,
  password: $password) { token errors { code message } } }"""
REQUEST_RESET = """mutation($email: String!) { requestPasswordReset(email: $email) {
  message errors { code } } }"""
INVITATION = "query($t: String!) { invitationByToken(token: $t) { email } }"
ME = "{ me { id email } }"


@dataclass
class Gateway:
    url: str
    database_url: str
    log: Path
    proc: subprocess.Popen[bytes]


@pytest.fixture(params=["sqlite", "postgres"])
def gateway(request: pytest.FixtureRequest, redis_url: str, tmp_path: Path) -> Iterator[Gateway]:
    pg_name = None
    if request.param == "postgres":
        if not port_open("127.0.0.1", 5432):
            pytest.skip("PostgreSQL not reachable")
        pg_name, database_url = databases.create_postgres_database()
    else:
        database_url = databases.sqlite_url(tmp_path)
    prefix = f"collab-test:{uuid.uuid4().hex[:12]}"
    port = processes.free_port()
    log_path = tmp_path / "gateway.log"
    env = {
        **os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix, "ENVIRONMENT": "development", "LOG_LEVEL": "INFO",
        "SMTP_PORT": str(processes.free_port()), "PUBLIC_URL": "http://collab.test",
        "RESPONSE_CACHE_ENABLED": "false", "RATE_LIMIT_SIGNUP_ADDRESS": "5/minute",
        "PASSWORD_HASH_THREADS": "1", "PASSWORD_HASH_BACKLOG": "32",
    }  # fmt: skip
    proc = None
    try:
        databases.migrate(database_url)
        with log_path.open("wb") as out:
            proc = processes.start(["serve", "--port", str(port)], env, out)
        url = f"http://127.0.0.1:{port}"
        processes.wait_until_up(url, proc, log_path)
        yield Gateway(url, database_url, log_path, proc)
    finally:
        if proc is not None:
            processes.stop([proc])
        processes.forget_redis_prefix(redis_url, prefix)
        if pg_name:
            databases.drop_postgres_database(pg_name)


async def _outbox_tokens(database_url: str, job: str) -> list[str]:
    """The raw tokens waiting in the gateway's outbox (no worker runs here)."""
    from models import OutboxJob

    executor.EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        rows = await OutboxJob.filter(job=job)
        return [str(r.payload["token"]) for r in rows if r.payload.get("token")]
    finally:
        await Tortoise.close_connections()


async def _gql(
    client: httpx.AsyncClient, query: str, token: str | None = None, **variables: object
) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return dict(r.json())


async def test_no_link_token_reaches_the_logs(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        email = f"logged-{uuid.uuid4().hex[:6]}@collab.example"
        assert (await _gql(client, SIGN_UP, email=email, password=PASSWORD))["data"]["signUp"][
            "token"
        ]
        await _gql(client, REQUEST_RESET, email=email)
        [reset] = await _outbox_tokens(gateway.database_url, "password_reset_email")
        [verify] = await _outbox_tokens(gateway.database_url, "email_verification_email")
        invitation = secrets.token_urlsafe(32)  # a guess is logged the same way
        for path in (f"/account/reset-password/{reset}", f"/account/verify-email/{verify}",
                     f"/invitations/{invitation}", f"/invitations/{invitation}/accept"):  # fmt: skip
            await client.get(path)
            await client.post(path, data={"password": "another password entirely"})
        # GraphQL over GET carries its variables in the query string.
        await client.get(
            "/graphql", params={"query": INVITATION, "variables": f'{{"t": "{invitation}"}}'}
        )
    await asyncio.sleep(0.5)  # the access log is written after the answer
    text = gateway.log.read_text()
    assert "/account/reset-password/<token>" in text and "/account/verify-email/<token>" in text
    assert "/invitations/<token>/accept" in text
    for token in (reset, verify, invitation):
        assert token not in text
    # The reset token was never spent: the owner's link still works (nothing else did).
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await client.get(f"/account/reset-password/{reset}")).status_code == 200


def test_every_emailed_link_route_is_redacted() -> None:
    """A new route with a token in its path needs its prefix in infra.logs.TOKEN_PATHS."""
    from gateway.app import create_app

    app = create_app()
    paths = [getattr(r, "path", "") for r in app.routes]
    with_token = [p for p in paths if "{token}" in p]
    assert with_token
    for path in with_token:
        sample = path.replace("{token}", "SECRET123")
        assert "SECRET123" not in logs.redact(sample), path


async def test_a_burst_of_sign_ups_leaves_queries_fast_and_meets_the_limit(
    gateway: Gateway,
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        signed = await _gql(client, SIGN_UP, email=f"me-{uuid.uuid4().hex[:6]}@collab.example",
                            password=PASSWORD)  # fmt: skip
        token = signed["data"]["signUp"]["token"]
        assert token

        async def sign_up(i: int) -> str:
            answer = await _gql(client, SIGN_UP, email=f"burst-{i}-{uuid.uuid4().hex[:4]}@collab.example",
                                password=PASSWORD)  # fmt: skip
            errors = answer["data"]["signUp"]["errors"]
            return errors[0]["code"] if errors else "ok"

        burst = asyncio.gather(*(sign_up(i) for i in range(10)))
        await asyncio.sleep(0.2)
        worst = 0.0
        while not burst.done():
            started = time.monotonic()
            me = await _gql(client, ME, token)
            worst = max(worst, time.monotonic() - started)
            assert me["data"]["me"]["id"]
            await asyncio.sleep(0.1)
        codes = await burst
    assert worst < 1.0, f"a logged-in query took {worst:.2f} s during the burst"
    assert codes.count("ok") == 4 and codes.count("RATE_LIMITED") == 6  # 5 a minute
