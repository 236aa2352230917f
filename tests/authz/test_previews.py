"""Previews of sharing changes through the API: each says exactly what its mutation then
does to the members' effective policies, writes nothing, and refuses like the mutation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from tortoise import Tortoise

from infra.settings import Settings
from tests.authz.helpers import (
    ADD_TO_GROUP,
    FULL_ACCESS,
    LIMITED_ACCESS,
    MOVE_GROUP,
    REMOVE_FROM_GROUP,
    SHARE_ENV,
    VIEWER,
    active_member,
    add_to_group,
    create_env,
    create_group,
    my_policies,
    share,
)
from tests.conftest import make_settings
from tests.utils.accounts import User, sign_up
from tests.utils.graphql import GraphQLClient, Response
from tests.utils.members import invite

CHANGE = "member { id email } environment { id name } gained lost"
PREVIEW_UPDATE = f"""query($id: ID!, $input: UpdateMemberInput!) {{
  previewMemberUpdate(id: $id, input: $input) {{ {CHANGE} }} }}"""
PREVIEW_SHARE = f"""query($e: ID!, $grants: [GrantInput!]!) {{
  previewShareEnvironment(environmentId: $e, grants: $grants) {{ {CHANGE} }} }}"""
PREVIEW_MOVE = f"""query($id: ID!, $parentId: ID) {{
  previewMoveEnvironmentGroup(id: $id, parentId: $parentId) {{ {CHANGE} }} }}"""
PREVIEW_ADD = f"""query($e: ID!, $g: ID!) {{
  previewAddEnvironmentToGroup(environmentId: $e, groupId: $g) {{ {CHANGE} }} }}"""
PREVIEW_REMOVE = f"""query($e: ID!, $g: ID!) {{
  previewRemoveEnvironmentFromGroup(environmentId: $e, groupId: $g) {{ {CHANGE} }} }}"""
UPDATE = """mutation($id: ID!, $input: UpdateMemberInput!) {
  updateMember(id: $id, input: $input) { member { id } errors { code message field } } }"""
MEMBERS = "{ members { id status } }"


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> Settings:
    """The response cache on: a preview must not bump the counters cached answers hang on."""
    return make_settings(database_url, redis_url, redis_prefix, RESPONSE_CACHE_ENABLED=True)


@dataclass
class World:
    owner: User
    ann: User  # Viewer on the group "ops"
    bob: User  # Limited access at the root
    members: dict[str, str]  # email -> member id
    pending: str  # a pending invitee's member id, with a root share
    envs: dict[str, str]  # name -> id; web in ops, api in ops/backend, store in no group
    groups: dict[str, str]  # ops, backend (under ops), spare (top)


async def build(gql: GraphQLClient) -> World:
    owner, ann, bob, carl = [await sign_up(gql, n) for n in ("Owner", "Ann", "Bob", "Carl")]
    groups = {"ops": await create_group(owner, "ops")}
    groups["backend"] = await create_group(owner, "backend", groups["ops"])
    groups["spare"] = await create_group(owner, "spare")
    envs = {n: (await create_env(owner, n))["id"] for n in ("web", "api", "store")}
    await add_to_group(owner, envs["web"], groups["ops"])
    await add_to_group(owner, envs["api"], groups["backend"])
    members = {
        ann.email: await active_member(owner, ann, shares=[share(VIEWER, group=groups["ops"])]),
        bob.email: await active_member(owner, bob, shares=[share(LIMITED_ACCESS, root=True)]),
    }
    # A pending invitee has no effective policies before or after any change.
    pending = await invite(owner, carl.email, shares=[share(FULL_ACCESS, root=True)])
    return World(owner, ann, bob, members, str(pending["id"]), envs, groups)


async def effective(w: World) -> dict[tuple[str, str], set[str]]:
    """Every collaborator's effective policies on every environment, as each sees them."""
    return {
        (user.email, name): await my_policies(user, env_id) or set()
        for user in (w.ann, w.bob) for name, env_id in w.envs.items()
    }  # fmt: skip


def diff(before: dict[Any, set[str]], after: dict[Any, set[str]]) -> dict[Any, tuple]:
    return {
        key: (sorted(after[key] - before[key]), sorted(before[key] - after[key]))
        for key in before
        if before[key] != after[key]
    }


def as_diff(w: World, changes: list[dict[str, Any]]) -> dict[Any, tuple]:
    names = {v: k for k, v in w.envs.items()}
    result = {}
    for c in changes:
        assert c["member"]["id"] == w.members[c["member"]["email"]]
        assert names[c["environment"]["id"]] == c["environment"]["name"]
        result[(c["member"]["email"], c["environment"]["name"])] = (c["gained"], c["lost"])
    return result


async def row_counts() -> dict[str, int]:
    tables = sorted(m._meta.db_table for m in Tortoise.apps["models"].values())
    sql = " UNION ALL ".join(f"SELECT '{t}' AS name, COUNT(*) AS n FROM \"{t}\"" for t in tables)
    rows = await Tortoise.get_connection("default").execute_query_dict(sql)
    return {row["name"]: int(row["n"]) for row in rows}


async def x_cache(user: User, query: str) -> str:
    r = await user.gql.http.post("/graphql", json={"query": query},
                                 headers={"Authorization": f"Bearer {user.token}"})  # fmt: skip
    return str(r.headers.get("x-cache"))


async def previewed_then_applied(
    w: World, preview: str, mutation: str, name: str, **variables: Any
) -> dict[Any, tuple]:
    """Preview (nothing written, no cached answer invalidated), apply, and check that the
    preview said exactly what the mutation did."""
    before = await effective(w)
    await x_cache(w.owner, MEMBERS)
    assert await x_cache(w.owner, MEMBERS) == "hit"
    counts = await row_counts()
    r = await w.owner.gql(preview, **variables)
    assert not r.errors, r.errors
    (changes,) = r.data.values()
    assert await row_counts() == counts, "the preview wrote something"
    assert await x_cache(w.owner, MEMBERS) == "hit", "the preview bumped a version counter"
    assert changes == sorted(
        changes, key=lambda c: (c["member"]["email"], c["environment"]["name"])
    )
    (await w.owner.gql(mutation, **variables)).ok(name)
    assert await x_cache(w.owner, MEMBERS) == "miss"  # the mutation, unlike the preview, did
    previewed = as_diff(w, changes)
    assert previewed == diff(before, await effective(w))
    return previewed


VIEW = ["env.view", "logs.view", "stats.view"]


async def test_preview_member_update(gql: GraphQLClient) -> None:
    w = await build(gql)
    shares = [share(FULL_ACCESS, group=w.groups["backend"]), share(VIEWER, env=w.envs["store"])]
    got = await previewed_then_applied(
        w, PREVIEW_UPDATE, UPDATE, "updateMember",
        id=w.members[w.ann.email], input={"shares": shares, "displayName": "Ann B."},
    )  # fmt: skip
    full = sorted(await my_policies(w.ann, w.envs["api"]) or ())
    assert got == {
        (w.ann.email, "web"): ([], VIEW),  # ops no longer shared
        (w.ann.email, "api"): (sorted(set(full) - set(VIEW)), []),  # backend's share wins
        (w.ann.email, "store"): (VIEW, []),
    }
    # Only the account role: it decides env.create at the root, no environment's policies.
    r = await w.owner.gql(PREVIEW_UPDATE, id=w.members[w.bob.email], input={"accountRole": "ADMIN"})
    assert r.data == {"previewMemberUpdate": []}
    # A pending invitee has no effective policies yet, whatever its shares become.
    r = await w.owner.gql(PREVIEW_UPDATE, id=w.pending, input={"shares": []})
    assert r.data == {"previewMemberUpdate": []}


async def test_preview_share_environment(gql: GraphQLClient) -> None:
    w = await build(gql)
    grants = [{"memberId": w.members[w.ann.email], "roleIds": [FULL_ACCESS]},
              {"memberId": w.members[w.bob.email], "roleIds": [VIEWER]}]  # fmt: skip
    got = await previewed_then_applied(
        w, PREVIEW_SHARE, SHARE_ENV, "shareEnvironment", e=w.envs["web"], grants=grants
    )
    assert set(got) == {(w.ann.email, "web"), (w.bob.email, "web")}
    assert got[(w.bob.email, "web")][0] == []  # Limited access narrowed to Viewer: only lost
    assert "access.ssh" in got[(w.ann.email, "web")][0]
    # An empty role list removes the direct share: back to what the levels below give.
    revoke = [{"memberId": w.members[w.ann.email], "roleIds": []}]
    got = await previewed_then_applied(
        w, PREVIEW_SHARE, SHARE_ENV, "shareEnvironment", e=w.envs["web"], grants=revoke
    )
    assert got[(w.ann.email, "web")][0] == [] and "access.ssh" in got[(w.ann.email, "web")][1]


async def test_preview_move_environment_group(gql: GraphQLClient) -> None:
    w = await build(gql)
    # backend leaves ops for the top: api is no longer under ann's share.
    got = await previewed_then_applied(
        w, PREVIEW_MOVE, MOVE_GROUP, "moveEnvironmentGroup", id=w.groups["backend"], parentId=None
    )
    assert got == {(w.ann.email, "api"): ([], VIEW)}
    got = await previewed_then_applied(
        w, PREVIEW_MOVE, MOVE_GROUP, "moveEnvironmentGroup",
        id=w.groups["backend"], parentId=w.groups["ops"],
    )  # fmt: skip
    assert got == {(w.ann.email, "api"): (VIEW, [])}
    # No move at all: nothing changes.
    r = await w.owner.gql(PREVIEW_MOVE, id=w.groups["backend"], parentId=w.groups["ops"])
    assert r.data == {"previewMoveEnvironmentGroup": []}


async def test_preview_add_and_remove_environment(gql: GraphQLClient) -> None:
    w = await build(gql)
    got = await previewed_then_applied(
        w, PREVIEW_ADD, ADD_TO_GROUP, "addEnvironmentToGroup", e=w.envs["store"], g=w.groups["ops"]
    )
    assert got == {(w.ann.email, "store"): (VIEW, [])}
    # A group level beats the root: bob's Limited access does not change by a group he has
    # no share on, ann's Viewer does.
    got = await previewed_then_applied(
        w, PREVIEW_REMOVE, REMOVE_FROM_GROUP, "removeEnvironmentFromGroup",
        e=w.envs["web"], g=w.groups["ops"],
    )  # fmt: skip
    assert got == {(w.ann.email, "web"): ([], VIEW)}
    r = await w.owner.gql(PREVIEW_REMOVE, e=w.envs["web"], g=w.groups["ops"])  # not there
    assert r.data == {"previewRemoveEnvironmentFromGroup": []}


def error(r: Response) -> tuple[str, str | None]:
    assert r.data in ({}, None) or all(v is None for v in r.data.values()), r.data
    (only,) = r.errors
    return only["extensions"]["code"], only["extensions"].get("field")


async def test_previews_refuse_like_their_mutations_and_write_nothing(gql: GraphQLClient) -> None:
    """A collaborator without collaborators.manage gets the mutation's own code (NOT_FOUND
    for a member: members are the owner's alone; FORBIDDEN for the owner's environments
    and groups, which an active member may see), and no audit entry is left behind."""
    w = await build(gql)
    bob_member = w.members[w.bob.email]
    grants = [{"memberId": bob_member, "roleIds": [FULL_ACCESS]}]
    cases = [
        (PREVIEW_UPDATE, UPDATE, {"id": bob_member, "input": {"shares": []}}),
        (PREVIEW_SHARE, SHARE_ENV, {"e": w.envs["web"], "grants": grants}),
        (PREVIEW_MOVE, MOVE_GROUP, {"id": w.groups["backend"], "parentId": None}),
        (PREVIEW_ADD, ADD_TO_GROUP, {"e": w.envs["store"], "g": w.groups["ops"]}),
        (PREVIEW_REMOVE, REMOVE_FROM_GROUP, {"e": w.envs["web"], "g": w.groups["ops"]}),
    ]
    for preview, mutation, variables in cases:
        counts = await row_counts()
        refused = error(await w.ann.gql(preview, **variables))
        assert await row_counts() == counts, preview
        (payload,) = (await w.ann.gql(mutation, **variables)).data.values()
        (mutation_error,) = payload["errors"]
        assert refused == (mutation_error["code"], mutation_error["field"]), preview
        assert refused[0] == ("NOT_FOUND" if mutation == UPDATE else "FORBIDDEN")
        anonymous = await gql(preview, **variables)
        assert [e["extensions"]["code"] for e in anonymous.errors] == ["UNAUTHENTICATED"]
    assert await my_policies(w.ann, w.envs["web"]) == set(VIEW)


async def test_previews_give_the_mutations_typed_errors_for_bad_input(gql: GraphQLClient) -> None:
    w = await build(gql)
    other = await sign_up(gql, "Other")
    foreign_env = (await create_env(other, "theirs"))["id"]
    ghost, bad = str(uuid.uuid4()), "not-an-id"
    ann = w.members[w.ann.email]
    cases: list[tuple[str, dict[str, Any], tuple[str, str]]] = [
        (PREVIEW_UPDATE, {"id": ghost, "input": {}}, ("NOT_FOUND", "id")),
        (PREVIEW_UPDATE, {"id": bad, "input": {}}, ("NOT_FOUND", "id")),
        (PREVIEW_UPDATE, {"id": ann, "input": {"shares": [share(VIEWER, env=ghost)]}},
         ("NOT_FOUND", "shares[0].environmentId")),
        (PREVIEW_UPDATE, {"id": ann, "input": {"shares": [share(ghost, root=True)]}},
         ("NOT_FOUND", "shares[0].roleIds")),
        (PREVIEW_UPDATE, {"id": ann, "input": {"shares": [share(VIEWER, root=True)] * 2}},
         ("VALIDATION", "shares[1]")),
        (PREVIEW_SHARE, {"e": ghost, "grants": []}, ("NOT_FOUND", "environmentId")),
        (PREVIEW_SHARE, {"e": foreign_env, "grants": []}, ("NOT_FOUND", "environmentId")),
        (PREVIEW_SHARE, {"e": w.envs["web"], "grants": [{"memberId": bad, "roleIds": []}]},
         ("NOT_FOUND", "grants[0].memberId")),
        (PREVIEW_MOVE, {"id": ghost, "parentId": None}, ("NOT_FOUND", "id")),
        (PREVIEW_MOVE, {"id": w.groups["ops"], "parentId": bad}, ("NOT_FOUND", "parentId")),
        (PREVIEW_MOVE, {"id": w.groups["ops"], "parentId": w.groups["backend"]},
         ("VALIDATION", "parentId")),
        (PREVIEW_ADD, {"e": w.envs["store"], "g": ghost}, ("NOT_FOUND", "groupId")),
        (PREVIEW_ADD, {"e": bad, "g": w.groups["ops"]}, ("NOT_FOUND", "environmentId")),
        (PREVIEW_REMOVE, {"e": foreign_env, "g": w.groups["ops"]}, ("NOT_FOUND", "environmentId")),
    ]  # fmt: skip
    for preview, variables, expected in cases:
        counts = await row_counts()
        assert error(await w.owner.gql(preview, **variables)) == expected, (preview, variables)
        assert await row_counts() == counts


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """Every statement sent through the default connection while active."""
    sent: list[str] = []
    client = type(Tortoise.get_connection("default"))
    patched = []
    for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
        owner = next(c for c in client.__mro__ if name in c.__dict__)
        original = owner.__dict__[name]

        def wrapper(self: Any, sql: str, *args: Any, __original: Any = original) -> Any:
            sent.append(sql)
            return __original(self, sql, *args)

        patched.append((owner, name, original))
        setattr(owner, name, wrapper)
    try:
        yield sent
    finally:
        for owner, name, original in patched:
            setattr(owner, name, original)


async def statements(user: User, query: str, **variables: Any) -> int:
    """SQL statements one fresh (uncached) answer costs."""
    with counting_statements() as sent:
        r = await user.gql.http.post(
            "/graphql", json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {user.token}", "Cache-Control": "no-cache"},
        )  # fmt: skip
    assert r.status_code == 200 and "errors" not in r.json(), r.json()
    return len(sent)


async def test_previews_cost_the_same_statements_for_more_members_and_environments(
    gql: GraphQLClient,
) -> None:
    """No N+1: a preview reads a fixed number of times, however many members it weighs
    (every ACTIVE member, for a change of the tree) and environments it compares."""
    w = await build(gql)

    async def costs() -> list[int]:
        grants = [{"memberId": m, "roleIds": [FULL_ACCESS]} for m in w.members.values()]
        shares = [share(FULL_ACCESS, env=e) for e in w.envs.values()]
        return [
            await statements(w.owner, PREVIEW_UPDATE, id=w.members[w.ann.email],
                             input={"shares": shares}),
            await statements(w.owner, PREVIEW_SHARE, e=w.envs["web"], grants=grants),
            await statements(w.owner, PREVIEW_MOVE, id=w.groups["backend"], parentId=None),
            await statements(w.owner, PREVIEW_ADD, e=w.envs["store"], g=w.groups["backend"]),
            await statements(w.owner, PREVIEW_REMOVE, e=w.envs["api"], g=w.groups["backend"]),
        ]  # fmt: skip

    small = await costs()
    for i in range(4):
        user = await sign_up(gql, f"More {i}")
        w.members[user.email] = await active_member(
            w.owner, user, shares=[share(VIEWER, group=w.groups["ops"]), share(VIEWER, root=True)]
        )
        env = (await create_env(w.owner, f"more-{i}"))["id"]
        w.envs[f"more-{i}"] = env
        await add_to_group(w.owner, env, w.groups["backend"])
    assert all(small) and await costs() == small
