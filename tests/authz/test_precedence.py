"""The "most specific level wins" rule, end to end (CONTRACT.md section 1)."""

from __future__ import annotations

from models import OutboxJob
from tests.authz.helpers import (
    ADD_TO_GROUP,
    CREATOR,
    ERRORS,
    FULL_ACCESS,
    LIMITED_ACCESS,
    MOVE_GROUP,
    REMOVE_FROM_GROUP,
    ROLE_POLICIES,
    SUSPEND,
    VIEWER,
    active_member,
    add_to_group,
    create_env,
    create_group,
    end_trial,
    expire_shares,
    my_policies,
    share,
)
from tests.utils.accounts import sign_up
from tests.utils.graphql import GraphQLClient

FULL, LIMITED, VIEW = (ROLE_POLICIES[r] for r in (FULL_ACCESS, LIMITED_ACCESS, VIEWER))
START = f"mutation($id: ID!) {{ startEnvironment(id: $id) {{ environment {{ id }} {ERRORS} }} }}"
SHARED = "{ sharedWithMe { owner { id } environments { id } groups { id } } }"


async def test_direct_share_narrows_a_group_share(gql: GraphQLClient) -> None:
    owner, bob = await sign_up(gql, "owner"), await sign_up(gql, "bob")
    group = await create_group(owner, "prod")
    narrowed = (await create_env(owner, "db-1", groupId=group))["id"]
    other = (await create_env(owner, "web", groupId=group))["id"]
    await active_member(owner, bob, shares=[share(FULL_ACCESS, group=group),
                                            share(VIEWER, env=narrowed)])  # fmt: skip
    assert await my_policies(bob, narrowed) == VIEW
    assert await my_policies(bob, other) == FULL
    r = await bob.gql(START, id=narrowed)
    assert [e["code"] for e in r.payload("startEnvironment")["errors"]] == ["FORBIDDEN"]


async def test_groups_merge_and_the_deeper_share_wins(gql: GraphQLClient) -> None:
    owner, bob = await sign_up(gql, "owner"), await sign_up(gql, "bob")
    top = await create_group(owner, "top")
    deep = await create_group(owner, "deep", top)
    side = await create_group(owner, "side")
    in_deep = (await create_env(owner, "in-deep", groupId=deep))["id"]
    in_both = (await create_env(owner, "in-both", groupId=deep))["id"]
    await add_to_group(owner, in_both, side)
    in_top = (await create_env(owner, "in-top", groupId=top))["id"]
    await active_member(owner, bob, shares=[
        share(FULL_ACCESS, group=top), share(VIEWER, group=deep), share(CREATOR, group=side),
    ])  # fmt: skip
    assert await my_policies(bob, in_top) == FULL
    assert await my_policies(bob, in_deep) == VIEW  # deeper beats higher
    # Two containing groups: the share found for each is counted and merged.
    assert await my_policies(bob, in_both) == VIEW | {"env.create"}


async def test_tree_changes_change_access(gql: GraphQLClient) -> None:
    owner, bob = await sign_up(gql, "owner"), await sign_up(gql, "bob")
    shared = await create_group(owner, "shared")
    limited = await create_group(owner, "limited")
    loose = await create_group(owner, "loose")
    env = (await create_env(owner, "app"))["id"]
    member = await active_member(owner, bob, shares=[
        share(FULL_ACCESS, group=shared), share(LIMITED_ACCESS, group=limited),
    ])  # fmt: skip
    assert await my_policies(bob, env) is None

    # Added to a shared group later: covered, and the member is told by email.
    notices_before = await OutboxJob.filter(job="share_notifications").count()
    r = await owner.gql(ADD_TO_GROUP, e=env, g=shared)
    r.ok("addEnvironmentToGroup")
    assert await my_policies(bob, env) == FULL
    jobs = await OutboxJob.filter(job="share_notifications").order_by("-created_at")
    assert len(jobs) == notices_before + 1 and jobs[0].payload["member_id"] == member

    # Moving the environment between groups.
    (await owner.gql(REMOVE_FROM_GROUP, e=env, g=shared)).ok("removeEnvironmentFromGroup")
    assert await my_policies(bob, env) is None
    await add_to_group(owner, env, loose)
    assert await my_policies(bob, env) is None

    # Moving the group that holds it: under `limited`, then under `shared`, then back out.
    (await owner.gql(MOVE_GROUP, id=loose, parentId=limited)).ok("moveEnvironmentGroup")
    assert await my_policies(bob, env) == LIMITED
    (await owner.gql(MOVE_GROUP, id=limited, parentId=shared)).ok("moveEnvironmentGroup")
    assert await my_policies(bob, env) == LIMITED  # still the nearest shared ancestor
    (await owner.gql(MOVE_GROUP, id=loose, parentId=shared)).ok("moveEnvironmentGroup")
    assert await my_policies(bob, env) == FULL
    (await owner.gql(MOVE_GROUP, id=loose, parentId=None)).ok("moveEnvironmentGroup")
    assert await my_policies(bob, env) is None


async def test_root_share_counts_when_nothing_more_specific(gql: GraphQLClient) -> None:
    owner, bob = await sign_up(gql, "owner"), await sign_up(gql, "bob")
    group = await create_group(owner, "g")
    at_root = (await create_env(owner, "at-root"))["id"]
    grouped = (await create_env(owner, "grouped", groupId=group))["id"]
    await active_member(owner, bob, shares=[share(VIEWER, root=True),
                                            share(LIMITED_ACCESS, group=group)])  # fmt: skip
    assert await my_policies(bob, at_root) == VIEW
    assert await my_policies(bob, grouped) == LIMITED


async def test_an_expired_share_stops_counting(gql: GraphQLClient) -> None:
    owner, bob = await sign_up(gql, "owner"), await sign_up(gql, "bob")
    env = (await create_env(owner, "app"))["id"]
    member = await active_member(owner, bob, shares=[
        share(FULL_ACCESS, env=env, expires_at="2999-01-01T00:00:00Z")
    ])  # fmt: skip
    assert await my_policies(bob, env) == FULL
    await expire_shares(member)
    assert await my_policies(bob, env) is None
    r = await bob.gql(START, id=env)
    assert [e["code"] for e in r.payload("startEnvironment")["errors"]] == ["FORBIDDEN"]


async def test_suspended_and_trial_expired_members_see_nothing(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, "owner")
    sus, late = await sign_up(gql, "suspended"), await sign_up(gql, "late")
    env = (await create_env(owner, "app"))["id"]
    sus_id = await active_member(owner, sus, shares=[share(FULL_ACCESS, root=True)])
    await active_member(owner, late, shares=[share(FULL_ACCESS, root=True)])
    for user in (sus, late):
        assert await my_policies(user, env) == FULL
        assert len((await user.gql(SHARED)).data["sharedWithMe"]) == 1

    (await owner.gql(SUSPEND, id=sus_id)).ok("suspendMember")
    await end_trial(late)  # the member's own trial ends; no worker has run
    for user in (sus, late):
        assert await my_policies(user, env) is None
        assert (await user.gql(SHARED)).data["sharedWithMe"] == []
        r = await user.gql(START, id=env)
        # They cannot see the owner's account any more: nothing leaks.
        assert [e["code"] for e in r.payload("startEnvironment")["errors"]] == ["NOT_FOUND"]
