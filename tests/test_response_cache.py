"""The response cache: repeated reads are served from Redis, and never a stale answer.

Every test runs through the real app on SQLite and PostgreSQL with the real Redis; the
`X-Cache` header says whether the gateway computed the answer or served it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from domain.clock import utcnow
from infra.settings import Settings
from tests.conftest import make_settings
from tests.utils.accounts import User, sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.members import FULL_ACCESS, VIEWER, active_member

DASHBOARD = """query Dashboard { sharedWithMe { owner { id } environments { id name status
  myPolicies } groups { id name environments { id } children { id } } } }"""
ENVIRONMENTS = "query { environments { id name status } }"
CREATE_ENV = """mutation($name: String!) { createEnvironment(input: { name: $name }) {
  environment { id } errors { code message } } }"""
STOP = "mutation($id: ID!) { stopEnvironment(id: $id) { environment { status } errors { code } } }"
SHARE = """mutation($env: ID!, $member: ID!, $roles: [ID!]!) {
  shareEnvironment(environmentId: $env, grants: [{ memberId: $member, roleIds: $roles }]) {
    errors { code message } } }"""
SUSPEND = "mutation($id: ID!) { suspendMember(id: $id) { member { status } errors { code } } }"


async def post(user: User, query: str, headers: dict[str, str] | None = None,
               **variables: Any) -> httpx.Response:  # fmt: skip
    return await user.gql.http.post(
        "/graphql", json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {user.token}", **(headers or {})},
    )  # fmt: skip


async def create_env(owner: User, name: str) -> str:
    r = await owner.gql(CREATE_ENV, name=name)
    return str(r.ok("createEnvironment")["environment"]["id"])


async def test_a_repeated_query_is_served_from_the_cache_with_the_same_bytes(gql: GraphQLClient):
    owner = await sign_up(gql, "Owner")
    await create_env(owner, "web")
    first = await post(owner, ENVIRONMENTS)
    second = await post(owner, ENVIRONMENTS)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert "private" in second.headers["cache-control"]


async def test_if_none_match_gives_304_without_a_body(gql: GraphQLClient):
    owner = await sign_up(gql, "Owner")
    await create_env(owner, "web")
    first = await post(owner, ENVIRONMENTS)
    again = await post(owner, ENVIRONMENTS, {"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = await post(owner, ENVIRONMENTS, {"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


async def test_a_change_by_the_owner_is_seen_at_once_and_changes_the_etag(gql: GraphQLClient):
    owner = await sign_up(gql, "Owner")
    env = await create_env(owner, "web")
    before = await post(owner, ENVIRONMENTS)
    await post(owner, ENVIRONMENTS)  # now cached
    await owner.gql(STOP, id=env)
    after = await post(owner, ENVIRONMENTS)
    assert after.headers["x-cache"] == "miss"
    assert after.json()["data"]["environments"][0]["status"] == "STOPPED"
    assert after.headers["etag"] != before.headers["etag"]
    stale = await post(owner, ENVIRONMENTS, {"If-None-Match": before.headers["etag"]})
    assert stale.status_code == 200


async def test_the_owners_changes_reach_the_collaborators_cached_dashboard(gql: GraphQLClient):
    owner, member = await sign_up(gql, "Owner"), await sign_up(gql, "Member")
    env = await create_env(owner, "web")
    member_id = await active_member(owner, member)
    assert (await post(member, DASHBOARD)).json()["data"]["sharedWithMe"][0]["environments"] == []
    assert (await post(member, DASHBOARD)).headers["x-cache"] == "hit"

    (await owner.gql(SHARE, env=env, member=member_id, roles=[VIEWER])).ok("shareEnvironment")
    shared = await post(member, DASHBOARD)
    assert [e["id"] for e in shared.json()["data"]["sharedWithMe"][0]["environments"]] == [env]

    await owner.gql(STOP, id=env)
    status = (await post(member, DASHBOARD)).json()["data"]["sharedWithMe"][0]["environments"]
    assert status[0]["status"] == "STOPPED"

    (await owner.gql(SUSPEND, id=member_id)).ok("suspendMember")
    assert (await post(member, DASHBOARD)).json()["data"]["sharedWithMe"] == []


async def test_a_share_ending_by_time_is_never_served_after_its_end(gql: GraphQLClient):
    owner, member = await sign_up(gql, "Owner"), await sign_up(gql, "Member")
    env = await create_env(owner, "web")
    ends = utcnow() + timedelta(seconds=1.5)
    await active_member(owner, member, shares=[
        {"environmentId": env, "roleIds": [FULL_ACCESS], "expiresAt": ends.isoformat()}
    ])  # fmt: skip
    seen = await post(member, DASHBOARD)
    assert len(seen.json()["data"]["sharedWithMe"][0]["environments"]) == 1
    assert (await post(member, DASHBOARD)).headers["x-cache"] == "hit"
    await asyncio.sleep(max(0.0, (ends - utcnow()).total_seconds()) + 0.05)
    after = await post(member, DASHBOARD)
    assert after.json()["data"]["sharedWithMe"][0]["environments"] == []
    again = await post(member, DASHBOARD, {"If-None-Match": seen.headers["etag"]})
    assert again.status_code == 200


async def test_mutations_and_other_callers_are_never_served_from_the_cache(gql: GraphQLClient):
    owner, other = await sign_up(gql, "Owner"), await sign_up(gql, "Other")
    await create_env(owner, "web")
    await post(owner, ENVIRONMENTS)
    assert (await post(owner, ENVIRONMENTS)).headers["x-cache"] == "hit"
    theirs = await post(other, ENVIRONMENTS)
    assert theirs.headers["x-cache"] == "miss" and theirs.json()["data"]["environments"] == []
    for _ in range(2):
        r = await post(owner, CREATE_ENV, name="same-name")
        assert "x-cache" not in r.headers
    assert r.json()["data"]["createEnvironment"]["errors"][0]["code"] == "CONFLICT"


async def test_queries_refused_by_a_limit_are_never_kept(gql: GraphQLClient):
    """A refusal (query limits: VALIDATION) is computed again each time, never replayed."""
    owner = await sign_up(gql, "Owner")
    aliases = "{ " + " ".join(f"a{i}: environments {{ id }}" for i in range(31)) + " }"
    deep = "{ environmentGroups { " + "parent { " * 10 + "id" + " }" * 10 + " } }"
    for query in (aliases, deep):
        answers = [await post(owner, query) for _ in range(2)]
        assert [r.headers.get("x-cache") for r in answers] == ["miss", "miss"]
        for r in answers:
            assert r.json()["errors"][0]["extensions"]["code"] == "VALIDATION"


async def test_no_cache_asks_for_a_fresh_answer(gql: GraphQLClient):
    owner = await sign_up(gql, "Owner")
    await post(owner, ENVIRONMENTS)
    fresh = await post(owner, ENVIRONMENTS, {"Cache-Control": "no-cache"})
    assert fresh.headers["x-cache"] == "miss"


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> Settings:
    """The cache on, whatever the suite's default (it also runs with the cache off)."""
    return make_settings(database_url, redis_url, redis_prefix, RESPONSE_CACHE_ENABLED=True)


@pytest.fixture
def small_cache(database_url: str, redis_url: str, redis_prefix: str) -> Settings:
    return make_settings(database_url, redis_url, redis_prefix,
                         RESPONSE_CACHE_ENABLED=True, RESPONSE_CACHE_MAX_BYTES=600,
                         RESPONSE_CACHE_MAX_ENTRY_BYTES=400)  # fmt: skip


async def test_memory_is_bounded_by_the_byte_budget(
    small_cache: Settings, redis: Redis, redis_prefix: str
) -> None:
    from gateway.app import create_app
    from tests.utils import databases

    await databases.reset(small_cache.DATABASE_URL)
    app = create_app(small_cache)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            owner = await sign_up(GraphQLClient(http), "Owner")
            await create_env(owner, "web")
            queries = [f"query Q{i} {{ environments {{ id name }} }}" for i in range(8)]
            for query in queries:
                await post(owner, query)
            total = int(await redis.get(f"{redis_prefix}:rc:total") or 0)
            assert 0 < total <= 600
            entries = [k async for k in redis.scan_iter(f"{redis_prefix}:rc:*", count=10_000)]
            kept = [k for k in entries if not k.endswith((b"index", b"sizes", b"total"))]
            assert 0 < len(kept) < len(queries)  # the oldest were evicted
            assert (await post(owner, queries[-1])).headers["x-cache"] == "hit"
            big = "query Big { environments { id name displayName status createdAt myPolicies } }"
            await post(owner, big)
            assert (await post(owner, big)).headers["x-cache"] == "miss"  # over the entry cap


ENVIRONMENT = "query($id: ID!) { environment(id: $id) { id myPolicies sshAccess } }"
REVOKE = """mutation($env: ID!, $member: ID!) {
  shareEnvironment(environmentId: $env, grants: [{ memberId: $member, roleIds: [] }]) {
    errors { code } } }"""


async def time_passes(redis: Redis, prefix: str) -> None:
    """What eleven minutes do to Redis: every key with a TTL is gone (entries, sessions and
    version counters); the keys that never expire stay."""
    async for key in redis.scan_iter(f"{prefix}:*", count=10_000):
        if await redis.ttl(key) >= 0:
            await redis.delete(key)


async def test_an_answer_after_the_counters_expired_never_takes_an_old_etag(
    gql: GraphQLClient, redis: Redis, redis_prefix: str
) -> None:
    owner, member = await sign_up(gql, "Owner"), await sign_up(gql, "Member")
    env = await create_env(owner, "web")
    member_id = await active_member(owner, member, shares=[
        {"environmentId": env, "roleIds": [FULL_ACCESS]}])  # fmt: skip
    await time_passes(redis, redis_prefix)
    for _ in range(3):  # computed, then served from Redis, then from this gateway's copy
        full = await post(member, ENVIRONMENT, id=env)
    assert (
        full.headers["x-cache"] == "hit"
        and len(full.json()["data"]["environment"]["myPolicies"]) == 19
    )
    (await owner.gql(REVOKE, env=env, member=member_id)).ok("shareEnvironment")
    counter = f"{redis_prefix}:v:o:{owner.id}"
    revoked_at = int(await redis.get(counter) or 0)

    await time_passes(redis, redis_prefix)  # the counters are back to where they started
    for _ in range(3):
        now = await post(member, ENVIRONMENT, id=env)
        assert now.json()["data"]["environment"] is None, now.headers.get("x-cache")
        assert now.headers["etag"] != full.headers["etag"]
    assert now.headers["x-cache"] == "hit"
    again = await post(member, ENVIRONMENT, {"If-None-Match": full.headers["etag"]}, id=env)
    assert again.status_code == 200 and again.json()["data"]["environment"] is None
    # and a counter that expired never comes back lower than it was
    await create_env(owner, "api")
    assert int(await redis.get(counter) or 0) > revoked_at
