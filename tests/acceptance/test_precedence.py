"""Effective policies: the most specific level wins; targets environment, group and root."""

from __future__ import annotations

from .helpers import (
    ACTIVATE,
    CREATE_ROLE,
    FULL_ACCESS,
    FULL_P,
    LIMITED_ACCESS,
    LIMITED_P,
    SHARE_ENV,
    SUSPEND,
    VIEWER,
    VIEWER_P,
    active_member,
    add,
    env,
    group,
    policies_of,
    set_shares,
    sign_up,
)

ENVS = "{ environments { id } }"


async def role(owner, *policies, name=None, alerts=False):
    r = await owner.gql(CREATE_ROLE, input={
        "name": name or "r-" + "-".join(policies), "policies": list(policies),
        "receiveLoadAlerts": alerts})  # fmt: skip
    return r.ok("createRole")["role"]["id"]


async def setup(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    mid = await active_member(owner, pal)
    return owner, pal, mid


async def test_owner_has_every_policy_and_strangers_see_nothing(gql):
    owner, pal, _ = await setup(gql)
    e = await env(owner)
    assert "env.view" in e["myPolicies"] and "env.delete" in e["myPolicies"]
    assert await policies_of(owner, e["id"]) >= FULL_P | {"env.delete", "env.clone"}
    assert await policies_of(pal, e["id"]) is None  # member without shares
    stranger = await sign_up(gql, "Stranger")
    assert await policies_of(stranger, e["id"]) is None


async def test_builtin_roles_policies(gql):
    owner, pal, mid = await setup(gql)
    a, b, c = await env(owner), await env(owner), await env(owner)
    await set_shares(owner, mid, [
        {"environmentId": a["id"], "roleIds": [FULL_ACCESS]},
        {"environmentId": b["id"], "roleIds": [LIMITED_ACCESS]},
        {"environmentId": c["id"], "roleIds": [VIEWER]},
    ])  # fmt: skip
    assert await policies_of(pal, a["id"]) == FULL_P
    assert await policies_of(pal, b["id"]) == LIMITED_P
    assert await policies_of(pal, c["id"]) == VIEWER_P


async def test_direct_beats_group_beats_root(gql):
    owner, pal, mid = await setup(gql)
    g = await group(owner)
    e_direct, e_group, e_root = await env(owner), await env(owner), await env(owner)
    await add(owner, e_direct["id"], g)
    await add(owner, e_group["id"], g)
    await set_shares(owner, mid, [
        {"root": True, "roleIds": [FULL_ACCESS]},
        {"groupId": g, "roleIds": [LIMITED_ACCESS]},
        {"environmentId": e_direct["id"], "roleIds": [VIEWER]},
    ])  # fmt: skip
    # direct narrows below the group and the root
    assert await policies_of(pal, e_direct["id"]) == VIEWER_P
    assert await policies_of(pal, e_group["id"]) == LIMITED_P
    assert await policies_of(pal, e_root["id"]) == FULL_P
    # environments created later are covered by the root share; added to the group later too
    later = await env(owner)
    assert await policies_of(pal, later["id"]) == FULL_P
    await add(owner, later["id"], g)
    assert await policies_of(pal, later["id"]) == LIMITED_P


async def test_group_contains_only_direct_environments_nearest_ancestor_share(gql):
    owner, pal, mid = await setup(gql)
    top = await group(owner, "top")
    mid_g = await group(owner, "middle", top)
    leaf = await group(owner, "leaf", mid_g)
    e_top, e_mid, e_leaf = await env(owner), await env(owner), await env(owner)
    await add(owner, e_top["id"], top)
    await add(owner, e_mid["id"], mid_g)
    await add(owner, e_leaf["id"], leaf)
    await set_shares(owner, mid, [
        {"groupId": top, "roleIds": [FULL_ACCESS]},
        {"groupId": mid_g, "roleIds": [VIEWER]},
    ])  # fmt: skip
    assert await policies_of(pal, e_top["id"]) == FULL_P
    assert await policies_of(pal, e_mid["id"]) == VIEWER_P
    # leaf has no share: its nearest ancestor with one is `middle`, not `top`
    assert await policies_of(pal, e_leaf["id"]) == VIEWER_P


async def test_group_share_does_not_reach_up_or_sideways(gql):
    owner, pal, mid = await setup(gql)
    top = await group(owner)
    child = await group(owner, parent=top)
    e_top, e_child = await env(owner), await env(owner)
    await add(owner, e_top["id"], top)
    await add(owner, e_child["id"], child)
    await set_shares(owner, mid, [{"groupId": child, "roleIds": [VIEWER]}])
    assert await policies_of(pal, e_child["id"]) == VIEWER_P
    assert await policies_of(pal, e_top["id"]) is None


async def test_group_beats_root_even_if_narrower_and_root_applies_to_groups_without_share(gql):
    owner, pal, mid = await setup(gql)
    shared, unshared = await group(owner), await group(owner)
    e1, e2 = await env(owner), await env(owner)
    await add(owner, e1["id"], shared)
    await add(owner, e2["id"], unshared)
    await set_shares(owner, mid, [
        {"root": True, "roleIds": [FULL_ACCESS]},
        {"groupId": shared, "roleIds": [VIEWER]},
    ])  # fmt: skip
    assert await policies_of(pal, e1["id"]) == VIEWER_P
    # a group with no share on it or its ancestors does not decide: the root does
    assert await policies_of(pal, e2["id"]) == FULL_P


async def test_roles_merge_over_several_groups(gql):
    owner, pal, mid = await setup(gql)
    ssh = await role(owner, "env.view", "access.ssh")
    ftp = await role(owner, "env.view", "access.ftp")
    g1, g2 = await group(owner), await group(owner)
    parent = await group(owner)
    g3 = await group(owner, parent=parent)
    e = await env(owner)
    for g in (g1, g2, g3):
        await add(owner, e["id"], g)
    await set_shares(owner, mid, [
        {"groupId": g1, "roleIds": [ssh]},
        {"groupId": g2, "roleIds": [ftp]},
        {"groupId": parent, "roleIds": [VIEWER]},  # reaches g3 as nearest ancestor
        {"root": True, "roleIds": [FULL_ACCESS]},
    ])  # fmt: skip
    assert await policies_of(pal, e["id"]) == {"env.view", "access.ssh", "access.ftp"} | VIEWER_P


async def test_several_roles_in_one_share_union(gql):
    owner, pal, mid = await setup(gql)
    ssh = await role(owner, "access.ssh")
    e = await env(owner)
    await set_shares(owner, mid, [{"environmentId": e["id"], "roleIds": [VIEWER, ssh]}])
    assert await policies_of(pal, e["id"]) == VIEWER_P | {"access.ssh"}


async def test_share_environment_direct_share_and_empty_roleids_remove(gql):
    owner, pal, mid = await setup(gql)
    g = await group(owner)
    e = await env(owner)
    await add(owner, e["id"], g)
    await set_shares(owner, mid, [{"groupId": g, "roleIds": [FULL_ACCESS]}])
    r = await owner.gql(SHARE_ENV, e=e["id"], grants=[{"memberId": mid, "roleIds": [VIEWER]}])
    assert r.ok("shareEnvironment")["environment"]["id"] == e["id"]
    assert await policies_of(pal, e["id"]) == VIEWER_P
    r = await owner.gql(SHARE_ENV, e=e["id"], grants=[{"memberId": mid, "roleIds": []}])
    r.ok("shareEnvironment")
    assert await policies_of(pal, e["id"]) == FULL_P
    # only the owner shares
    p = (await pal.gql(SHARE_ENV, e=e["id"], grants=[{"memberId": mid, "roleIds": [FULL_ACCESS]}]
                       )).payload("shareEnvironment")  # fmt: skip
    assert p["errors"] and p["errors"][0]["code"] in ("FORBIDDEN", "NOT_FOUND")


async def test_only_active_members_have_policies(gql):
    owner, pal, mid = await setup(gql)
    e = await env(owner)
    await set_shares(owner, mid, [{"root": True, "roleIds": [FULL_ACCESS]}])
    assert await policies_of(pal, e["id"]) == FULL_P
    (await owner.gql(SUSPEND, id=mid)).ok("suspendMember")
    assert await policies_of(pal, e["id"]) is None
    assert (await pal.gql(ENVS)).data["environments"] == []
    (await owner.gql(ACTIVATE, id=mid)).ok("activateMember")
    assert await policies_of(pal, e["id"]) == FULL_P


async def test_role_update_applies_to_members(gql):
    owner, pal, mid = await setup(gql)
    from .helpers import ERR

    upd = f"""mutation($id: ID!, $input: RoleInput!) {{
      updateRole(id: $id, input: $input) {{ role {{ id policies {{ code }} }} {ERR} }} }}"""
    rid = await role(owner, "env.view", name="custom")
    e = await env(owner)
    await set_shares(owner, mid, [{"environmentId": e["id"], "roleIds": [rid]}])
    assert await policies_of(pal, e["id"]) == {"env.view"}
    r = await owner.gql(
        upd, id=rid, input={"name": "custom", "policies": ["env.view", "logs.view"]}
    )
    r.ok("updateRole")
    assert await policies_of(pal, e["id"]) == {"env.view", "logs.view"}
