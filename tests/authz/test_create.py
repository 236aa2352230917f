"""Who may create environments where, and who owns what they create."""

from __future__ import annotations

from models import Account, AccountKind
from tests.authz.helpers import (
    CREATE_ENV,
    CREATOR,
    LIMITED_ACCESS,
    VIEWER,
    active_member,
    create_env,
    create_group,
    end_trial,
    my_policies,
    share,
)
from tests.utils import cache
from tests.utils.accounts import sign_up
from tests.utils.graphql import GraphQLClient

SHARED = "{ sharedWithMe { owner { id } canCreateEnvironments environments { id name } } }"
MINE = "{ environments { id name } }"


def codes(r: object, name: str = "createEnvironment") -> list[str]:
    return [e["code"] for e in r.payload(name)["errors"]]  # type: ignore[attr-defined]


async def test_admin_and_creator_members_create_on_the_owners_account(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, "owner")
    admin, creator, viewer = [await sign_up(gql, n) for n in ("admin", "creator", "viewer")]
    team = await create_group(owner, "team")
    sub = await create_group(owner, "sub", team)
    other = await create_group(owner, "other")
    seed = (await create_env(owner, "seed", groupId=team))["id"]
    await active_member(owner, admin, accountRole="ADMIN")
    await active_member(owner, creator, shares=[share(CREATOR, group=team)])
    await active_member(owner, viewer, shares=[share(VIEWER, env=seed)])

    # ADMIN: at the root (and in a group no share of theirs decides).
    env = await create_env(admin, "by-admin", ownerId=owner.id)
    assert env["owner"]["id"] == owner.id and env["createdBy"]["id"] == admin.id
    assert "env.view" in env["myPolicies"]  # creators see what they create
    await create_env(admin, "admin-grouped", ownerId=owner.id, groupId=other)

    # Creator on `team`: there and below it, not at the root nor elsewhere.
    made = await create_env(creator, "by-creator", ownerId=owner.id, groupId=sub)
    assert made["owner"]["id"] == owner.id and made["groups"] == [{"id": sub}]
    for group in (None, other):
        r = await creator.gql(CREATE_ENV, input={"name": "nope", "ownerId": owner.id,
                                                 "groupId": group})  # fmt: skip
        assert codes(r) == ["FORBIDDEN"]

    # A VIEWER member without env.create: refused, but it can see the account.
    r = await viewer.gql(CREATE_ENV, input={"name": "nope", "ownerId": owner.id})
    assert codes(r) == ["FORBIDDEN"]

    sections = {u.email: (await u.gql(SHARED)).data["sharedWithMe"]
                for u in (admin, creator, viewer)}  # fmt: skip
    assert sections[admin.email][0]["canCreateEnvironments"] is True
    assert sections[creator.email][0]["canCreateEnvironments"] is True
    assert sections[viewer.email][0]["canCreateEnvironments"] is False

    # Everything is the owner's: billed to it and listed among its environments.
    names = {e["name"] for e in (await owner.gql(MINE)).data["environments"]}
    assert names == {"seed", "by-admin", "admin-grouped", "by-creator"}
    assert (await admin.gql(MINE)).data["environments"] == []


async def test_who_may_create_on_its_own_account(gql: GraphQLClient) -> None:
    trial, collaborator = await sign_up(gql, "trial"), await sign_up(gql, "collab")
    await Account.filter(id=collaborator.id).update(kind=AccountKind.COLLABORATOR)
    await cache.clock_moved(accounts=(collaborator.id,))
    assert (await create_env(trial, "mine"))["owner"]["id"] == trial.id
    r = await collaborator.gql(CREATE_ENV, input={"name": "mine"})
    assert codes(r) == ["FORBIDDEN"]
    await end_trial(trial)
    r = await trial.gql(CREATE_ENV, input={"name": "more"})
    assert codes(r) == ["FORBIDDEN"]


async def test_creating_elsewhere_without_standing_is_not_found(gql: GraphQLClient) -> None:
    owner, stranger, limited = [await sign_up(gql, n) for n in ("owner", "stranger", "lim")]
    group = await create_group(owner, "g")
    env = (await create_env(owner, "app", groupId=group))["id"]
    await active_member(owner, limited, shares=[share(LIMITED_ACCESS, env=env)])
    for bad in (owner.id, "not-an-id", "00000000-0000-4000-8000-000000000000"):
        r = await stranger.gql(CREATE_ENV, input={"name": "x-y-z", "ownerId": bad})
        assert codes(r) == ["NOT_FOUND"], bad
    r = await limited.gql(CREATE_ENV, input={"name": "x-y-z", "ownerId": owner.id,
                                             "groupId": "nonsense"})  # fmt: skip
    assert codes(r) == ["NOT_FOUND"]


async def test_names_are_checked_and_unique_among_live_environments(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, "owner")
    for bad in ("ab", "Has-Caps", "x" * 41, "under_score", ""):
        r = await owner.gql(CREATE_ENV, input={"name": bad})
        assert codes(r) == ["VALIDATION"], bad
    first = await create_env(owner, "app")
    r = await owner.gql(CREATE_ENV, input={"name": "app"})
    assert codes(r) == ["CONFLICT"]
    delete = "mutation($id: ID!) { deleteEnvironment(id: $id) { environment { status } errors { code } } }"
    r = await owner.gql(delete, id=first["id"])
    assert r.ok("deleteEnvironment")["environment"]["status"] == "DELETED"
    assert (await create_env(owner, "app"))["status"] == "RUNNING"  # the name is free again


CREATE_ROLE = (
    """mutation($input: RoleInput!) { createRole(input: $input) { role { id } errors { code } } }"""
)
CLONE = """mutation($id: ID!, $name: String!) {
  cloneEnvironment(id: $id, name: $name) { environment { id myPolicies } errors { code } } }"""


async def test_a_clone_gives_its_maker_no_more_than_the_original(gql: GraphQLClient) -> None:
    owner, member = await sign_up(gql, "owner"), await sign_up(gql, "cloner")
    role = (
        await owner.gql(
            CREATE_ROLE, input={"name": "Cloner", "policies": ["env.view", "env.clone"]}
        )
    ).ok("createRole")["role"]["id"]
    source = (await create_env(owner, "orig"))["id"]
    await active_member(owner, member, shares=[share(role, env=source)])
    copy = (await member.gql(CLONE, id=source, name="orig-copy")).ok("cloneEnvironment")
    assert set(copy["environment"]["myPolicies"]) == {"env.view", "env.clone"}
    assert await my_policies(member, copy["environment"]["id"]) == {"env.view", "env.clone"}
