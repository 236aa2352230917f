"""The response cache under partition: a gateway cut off from Redis neither serves from the
cache nor leaves the other gateways serving what its changes revoked.

Two gateways on one database (SQLite and PostgreSQL) and the real Redis: gateway A reaches
Redis through a TCP proxy the test cuts and heals (tests/utils/redis_link.py), gateway B
directly. The relay is the workers' own loop (workers/relay.py), run in this event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from gateway.app import create_app
from models import OutboxJob
from tests.conftest import make_settings
from tests.utils import databases
from tests.utils.accounts import PASSWORD, User, sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.members import FULL_ACCESS, active_member
from tests.utils.redis_link import RedisLink, redis_link
from workers import relay

ENVIRONMENT = "query($id: ID!) { environment(id: $id) { id myPolicies sshAccess } }"
CREATE_ENV = """mutation($name: String!) { createEnvironment(input: { name: $name }) {
  environment { id } errors { code } } }"""
REVOKE = """mutation($env: ID!, $member: ID!) {
  shareEnvironment(environmentId: $env, grants: [{ memberId: $member, roleIds: [] }]) {
    errors { code message } } }"""
LOG_IN = """mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token errors { code } } }"""
LOG_OUT = "mutation { logOut { ok errors { code } } }"
SHARED_POLICIES = 19  # the Full access role


@dataclass
class Gateways:
    a: httpx.AsyncClient  # behind the link the test cuts
    b: httpx.AsyncClient
    link: RedisLink
    app_a: Starlette
    app_b: Starlette


@contextlib.asynccontextmanager
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://collab.test") as http:
        yield http


@pytest.fixture
async def gateways(
    database_url: str, redis_url: str, redis_prefix: str, redis: Redis
) -> AsyncIterator[Gateways]:
    await databases.reset(database_url)
    async with redis_link(redis_url) as link:
        settings = make_settings(database_url, redis_url, redis_prefix, RESPONSE_CACHE_ENABLED=True)
        app_b = create_app(settings)
        app_a = create_app(settings.model_copy(update={"REDIS_URL": link.url}))
        # B's lifespan connects the (shared) database; A's own resources are closed here.
        async with app_b.router.lifespan_context(app_b), client(app_a) as a, client(app_b) as b:
            try:
                yield Gateways(a, b, link, app_a, app_b)
            finally:
                for closing in (app_a.state.redis.aclose(), app_a.state.response_cache.aclose(),
                                app_a.state.services.events.close()):  # fmt: skip
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(closing, 5)


@contextlib.asynccontextmanager
async def relay_running(app: Starlette) -> AsyncIterator[None]:
    """The workers' relay loop, bumping through this gateway's Redis connection."""
    services = app.state.services
    task = asyncio.create_task(relay.relay_forever(
        app.state.redis, services.settings.queue_name, 0.1, services.after_commit))  # fmt: skip
    try:
        yield
    finally:  # a cancel that lands inside a database or Redis call may be swallowed there
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)


async def read(http: httpx.AsyncClient, token: str, query: str, **variables: Any) -> httpx.Response:
    return await http.post("/graphql", json={"query": query, "variables": variables},
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip


async def within(seconds: float, check: Callable[[], Awaitable[bool]]) -> float:
    """Polls `check` until it holds; how long that took. Fails after `seconds`."""
    began = time.monotonic()
    while not await check():
        assert time.monotonic() - began < seconds, f"not within {seconds} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - began


async def shared_environment(gw: Gateways) -> tuple[User, User, str, str]:
    """An owner and a member holding Full access to one environment (all through B)."""
    gql = GraphQLClient(gw.b)
    owner, member = await sign_up(gql, "Owner"), await sign_up(gql, "Member")
    env = str(
        (await owner.gql(CREATE_ENV, name="web")).ok("createEnvironment")["environment"]["id"]
    )
    member_id = await active_member(owner, member, shares=[
        {"environmentId": env, "roleIds": [FULL_ACCESS]}])  # fmt: skip
    return owner, member, env, member_id


def full_access(answer: httpx.Response) -> bool:
    env = answer.json()["data"]["environment"]
    return env is not None and len(env["myPolicies"]) == SHARED_POLICIES and bool(env["sshAccess"])


def revoked(answer: httpx.Response) -> bool:
    body = answer.json()
    return body["data"]["environment"] is None and not body.get("errors")


async def cached_on(http: httpx.AsyncClient, member: User, env: str) -> None:
    """The member's answer is kept, and this gateway serves it (its copy of the bytes too)."""
    for _ in range(3):
        answer = await read(http, member.token, ENVIRONMENT, id=env)
        assert full_access(answer)
    assert answer.headers["x-cache"] == "hit"


async def test_a_revocation_through_a_cut_gateway_stops_the_others_serving_it(
    gateways: Gateways,
) -> None:
    gw = gateways
    owner, member, env, member_id = await shared_environment(gw)
    await cached_on(gw.a, member, env)
    await cached_on(gw.b, member, env)

    await gw.link.cut()
    async with relay_running(gw.app_b):
        r = await gw.a.post("/graphql", json={"query": REVOKE, "variables": {
            "env": env, "member": member_id}}, headers={"Authorization": f"Bearer {owner.token}"})  # fmt: skip
        assert r.json()["data"]["shareEnvironment"]["errors"] == []
        # The bump did not reach Redis: it waits in the outbox, and A serves nothing from
        # the cache (neither from Redis nor from its own copy of the bytes).
        assert await OutboxJob.exists(job="version_bump")
        for _ in range(2):
            on_a = await read(gw.a, member.token, ENVIRONMENT, id=env)
            assert revoked(on_a) and on_a.headers.get("x-cache") != "hit"

        # B never heard of the change from A; the relay bumps it within its grace and tick.
        async def b_refuses() -> bool:
            return revoked(await read(gw.b, member.token, ENVIRONMENT, id=env))

        assert await within(5, b_refuses) < 3
    assert not await OutboxJob.exists(job="version_bump")
    for _ in range(2):
        assert revoked(await read(gw.b, member.token, ENVIRONMENT, id=env))

    await gw.link.heal()
    for _ in range(3):  # A writes what it still owes, then serves from the cache again
        on_a = await read(gw.a, member.token, ENVIRONMENT, id=env)
        assert revoked(on_a)
    assert on_a.headers["x-cache"] == "hit"


async def test_a_cut_gateway_writes_its_bump_before_it_serves_from_the_cache_again(
    gateways: Gateways,
) -> None:
    """No relay this time: the link heals first, and A's own next read writes the bump."""
    gw = gateways
    owner, member, env, member_id = await shared_environment(gw)
    await cached_on(gw.a, member, env)
    await cached_on(gw.b, member, env)

    await gw.link.cut()
    r = await gw.a.post("/graphql", json={"query": REVOKE, "variables": {
        "env": env, "member": member_id}}, headers={"Authorization": f"Bearer {owner.token}"})  # fmt: skip
    assert r.json()["data"]["shareEnvironment"]["errors"] == []
    await gw.link.heal()

    on_a = await read(gw.a, member.token, ENVIRONMENT, id=env)
    assert revoked(on_a) and on_a.headers.get("x-cache") != "hit", (on_a.headers, on_a.text)
    assert revoked(await read(gw.b, member.token, ENVIRONMENT, id=env))  # bumped by A's read
    assert not await OutboxJob.exists(job="version_bump")


async def test_a_token_logged_out_through_a_cut_gateway_is_refused_by_the_others(
    gateways: Gateways,
) -> None:
    gw = gateways
    _, member, env, _ = await shared_environment(gw)
    logged_in = await gw.b.post("/graphql", json={"query": LOG_IN, "variables": {
        "email": member.email, "password": PASSWORD}})  # fmt: skip
    token = logged_in.json()["data"]["logIn"]["token"]
    session = User(member.id, member.email, token, member.gql.as_(token))
    await cached_on(gw.b, session, env)  # B remembers the session in Redis

    await gw.link.cut()
    async with relay_running(gw.app_b):
        out = await read(gw.a, token, LOG_OUT)
        assert out.json()["data"]["logOut"]["ok"] is True

        async def refused(http: httpx.AsyncClient) -> bool:
            answer = await read(http, token, ENVIRONMENT, id=env)
            codes = [e["extensions"]["code"] for e in answer.json().get("errors") or ()]
            return codes == ["UNAUTHENTICATED"] and answer.headers.get("x-cache") != "hit"

        assert await refused(gw.a)
        assert await within(5, lambda: refused(gw.b)) < 3
    await gw.link.heal()
    assert await refused(gw.a) and await refused(gw.b)
