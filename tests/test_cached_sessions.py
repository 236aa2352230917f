"""Cached answers from the bearer token alone: no database on a hit, and a session that
ends is refused at once, however the gateways remembered it.

Through the real app on SQLite and PostgreSQL with the real Redis. The two-gateway version
of the revocation checks is in tests/test_response_cache_random.py (separate processes).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bench.statements import StatementCounter
from domain.accounts import token_hash
from domain.clock import utcnow
from infra.settings import Settings
from models import OutboxJob, Session
from tests.conftest import make_settings
from tests.utils.accounts import PASSWORD, User, sign_up
from tests.utils.graphql import GraphQLClient

ENVIRONMENTS = "query { environments { id name } }"
CREATE_ENV = """mutation($name: String!) { createEnvironment(input: { name: $name }) {
  environment { id } errors { code } } }"""
LOG_IN = """mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token errors { code } } }"""
LOG_OUT = "mutation { logOut { ok errors { code } } }"
EVERYWHERE = "mutation { logOutEverywhere { ended errors { code } } }"
CHANGE = """mutation($current: String!, $new: String!) {
  changePassword(current: $current, new: $new) { errors { code } } }"""
REQUEST_RESET = """mutation($email: String!) {
  requestPasswordReset(email: $email) { message errors { code } } }"""
RESET = """mutation($token: String!, $new: String!) {
  resetPassword(token: $token, newPassword: $new) { errors { code } } }"""
NEW = "a completely new password"


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> Settings:
    """The cache on, whatever the suite's default (it also runs with the cache off)."""
    return make_settings(database_url, redis_url, redis_prefix, RESPONSE_CACHE_ENABLED=True)


async def read(http: httpx.AsyncClient, token: str, **headers: str) -> httpx.Response:
    return await http.post("/graphql", json={"query": ENVIRONMENTS},
                           headers={"Authorization": f"Bearer {token}", **headers})  # fmt: skip


async def log_in(gql: GraphQLClient, email: str, password: str = PASSWORD) -> str:
    return str((await gql(LOG_IN, email=email, password=password)).ok("logIn")["token"])


async def owner_with_env(gql: GraphQLClient) -> User:
    owner = await sign_up(gql, "Owner")
    (await owner.gql(CREATE_ENV, name="web")).ok("createEnvironment")
    return owner


async def served_from_cache(http: httpx.AsyncClient, *tokens: str) -> None:
    """Each token's session is remembered and its answer kept: the next read is a hit."""
    for token in tokens:
        await read(http, token)
        assert (await read(http, token)).headers["x-cache"] == "hit"


def refused(answer: httpx.Response) -> bool:
    body: dict[str, Any] = answer.json()
    codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or ()]
    return codes == ["UNAUTHENTICATED"] and answer.headers.get("x-cache") != "hit"


async def test_a_hit_sends_no_sql_and_keeps_the_request_id(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    owner = await owner_with_env(gql)
    first = await read(http, owner.token)
    counter = StatementCounter()
    with counter.counting():
        hit = await read(http, owner.token, **{"X-Request-Id": "proxy-chose-this-1"})
    assert hit.headers["x-cache"] == "hit" and hit.content == first.content
    assert counter.count == 0
    assert hit.headers["x-request-id"] == "proxy-chose-this-1"
    assert len((await read(http, owner.token)).headers["x-request-id"]) >= 16  # made up


async def test_a_hit_speaks_graphql_over_http_and_leaves_big_bodies_to_the_guards(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    owner = await owner_with_env(gql)
    await served_from_cache(http, owner.token)
    plain = await read(http, owner.token)
    typed = await read(http, owner.token, Accept="application/graphql-response+json")
    assert typed.headers["x-cache"] == "hit" and typed.content == plain.content
    assert typed.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    assert plain.headers["content-type"] == "application/json"
    padded = '{"query": "{ environments { id name } }", "pad": "' + "x" * 200_000 + '"}'
    big = await http.post("/graphql", content=padded, headers={
        "Authorization": f"Bearer {owner.token}", "Content-Type": "application/json"})  # fmt: skip
    assert big.status_code == 413


async def test_log_out_refuses_the_remembered_token_at_once(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    owner = await owner_with_env(gql)
    other = await log_in(gql, owner.email)
    await served_from_cache(http, owner.token, other)
    etag = (await read(http, owner.token)).headers["etag"]
    (await owner.gql(LOG_OUT)).ok("logOut")
    assert refused(await read(http, owner.token))
    assert refused(await read(http, owner.token, **{"If-None-Match": etag}))  # no 304 either
    await served_from_cache(http, other)  # the account's other session stays


async def test_log_out_everywhere_and_password_changes_refuse_remembered_tokens(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    owner = await owner_with_env(gql)
    laptop, phone = await log_in(gql, owner.email), await log_in(gql, owner.email)
    await served_from_cache(http, owner.token, laptop, phone)

    (await gql.as_(laptop)(CHANGE, current=PASSWORD, new=NEW)).ok("changePassword")
    assert refused(await read(http, owner.token)) and refused(await read(http, phone))
    await served_from_cache(http, laptop)  # the session that changed it stays

    (await gql.as_(laptop)(EVERYWHERE)).ok("logOutEverywhere")
    assert refused(await read(http, laptop))

    fresh = await log_in(gql, owner.email, NEW)
    await served_from_cache(http, fresh)
    (await gql(REQUEST_RESET, email=owner.email)).ok("requestPasswordReset")
    link = (await OutboxJob.get(job="password_reset_email")).payload["token"]
    (await gql(RESET, token=link, new="yet another password")).ok("resetPassword")
    assert refused(await read(http, fresh))


async def test_a_remembered_session_is_refused_once_it_expires(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    owner = await owner_with_env(gql)
    token, ends = secrets.token_urlsafe(32), utcnow() + timedelta(seconds=1.5)
    await Session.create(id=uuid.uuid4(), account_id=owner.id, token_hash=token_hash(token),
                         expires_at=ends)  # fmt: skip
    await served_from_cache(http, token)
    await asyncio.sleep(max(0.0, (ends - utcnow()).total_seconds()) + 0.05)
    assert refused(await read(http, token))


async def test_a_session_remembered_while_it_was_being_revoked_is_not_accepted(
    gql: GraphQLClient, http: httpx.AsyncClient, app: Any
) -> None:
    """The race `remember_session` is built for: a gateway read the counter and found the
    session live, then the revocation committed (and bumped), then that gateway wrote the
    session to Redis. What it wrote carries the counter from before the bump."""
    owner = await owner_with_env(gql)
    other = await log_in(gql, owner.email)
    cache = app.state.response_cache
    read_at = utcnow()
    generation = await cache.session_generation(owner.id)
    expires_at = (await Session.get(token_hash=token_hash(owner.token))).expires_at
    (await gql.as_(other)(EVERYWHERE)).ok("logOutEverywhere")  # commits and bumps
    assert await cache.write_session(owner.token, owner.id, expires_at, generation, read_at)
    assert refused(await read(http, owner.token))
    assert refused(await read(http, owner.token))


async def test_hits_ride_out_a_redis_restart(database_url: str, redis_prefix: str) -> None:
    """Redis away: the same answer, computed; Redis back (empty): hits again, the hit path's
    connection made anew."""
    from gateway.app import create_app
    from tests.utils import databases
    from tests.utils.servers import PrivateRedis

    private = PrivateRedis()
    private.start()
    try:
        await databases.reset(database_url)
        settings = make_settings(database_url, private.url, redis_prefix,
                                 RESPONSE_CACHE_ENABLED=True)  # fmt: skip
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                owner = await owner_with_env(GraphQLClient(http))
                await served_from_cache(http, owner.token)
                expected = (await read(http, owner.token)).json()
                private.stop()
                during = await read(http, owner.token)
                assert during.status_code == 200 and during.json() == expected
                assert "x-cache" not in during.headers  # answered uncached
                private.start()
                await served_from_cache(http, owner.token)
                assert (await read(http, owner.token)).json() == expected
    finally:
        private.close()


async def test_a_body_that_never_comes_is_cut_off_at_the_time_limit(
    database_url: str, redis_url: str, redis_prefix: str
) -> None:
    """The hit path reads the body before the guards do, under the same time limit."""
    from gateway.app import create_app
    from tests.utils import databases

    await databases.reset(database_url)
    settings = make_settings(database_url, redis_url, redis_prefix, RESPONSE_CACHE_ENABLED=True,
                             REQUEST_TIMEOUT_SECONDS=0.5)  # fmt: skip
    app = create_app(settings)
    sent: list[dict[str, Any]] = []

    async def never() -> dict[str, Any]:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 9), "server": ("t", 80),
        "headers": [(b"host", b"t"), (b"authorization", b"Bearer some-token"),
                    (b"content-type", b"application/json"), (b"content-length", b"40")],
    }  # fmt: skip
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app(scope, never, send), timeout=5)
    assert sent[0]["status"] == 504
    assert b'"TIMEOUT"' in sent[1]["body"]
