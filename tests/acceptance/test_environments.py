"""createEnvironment / env.create rules, names, and environment actions."""

from __future__ import annotations

from .helpers import (
    CLONE,
    CREATE_ENV,
    CREATE_ROLE,
    CREATOR,
    DELETE_ENV,
    FULL_ACCESS,
    LIMITED_ACCESS,
    RESTART,
    RUN_ACTION,
    SET_KIND,
    START,
    STOP,
    SUSPEND,
    VIEWER,
    active_member,
    add,
    codes,
    env,
    group,
    platform,
    policies_of,
    sign_up,
    uniq,
)

SECTIONS = """{ sharedWithMe { owner { id } canCreateEnvironments
  environments { id name owner { id } createdBy { id } } } }"""
ENVS = "{ environments { id name } }"


async def create(u, owner=None, group_id=None, name=None):
    inp = {"name": name or uniq()}
    if owner is not None:
        inp["ownerId"] = owner.id
    if group_id is not None:
        inp["groupId"] = group_id
    return (await u.gql(CREATE_ENV, input=inp)).payload("createEnvironment")


async def can_create(u, owner):
    secs = (await u.gql(SECTIONS)).data["sharedWithMe"]
    return next(s["canCreateEnvironments"] for s in secs if s["owner"]["id"] == owner.id)


async def test_environment_name_rule_and_uniqueness(gql):
    owner = await sign_up(gql, "Owner")
    other = await sign_up(gql, "Other")
    for bad in ("ab", "Upper-case", "under_score", "x" * 41, "spa ce", "dot.ted", "ünï"):
        p = await create(owner, name=bad)
        assert codes(p) == ["VALIDATION"], bad
        assert p["environment"] is None
    for good in ("abc", "a" * 40, "0-9", "---"):
        p = await create(owner, name=good)
        assert codes(p) == [], good
        e = p["environment"]
        assert e["name"] == good and e["status"] == "RUNNING"
        assert e["owner"]["id"] == owner.id and e["createdBy"]["id"] == owner.id
    p = await create(owner, name="abc")
    assert codes(p) == ["CONFLICT"]
    assert codes(await create(other, name="abc")) == []
    names = [e["name"] for e in (await owner.gql(ENVS)).data["environments"]]
    assert sorted(names) == sorted(["abc", "a" * 40, "0-9", "---"])
    # clone follows the same rule
    src = next(e for e in (await owner.gql(ENVS)).data["environments"] if e["name"] == "abc")
    p = (await owner.gql(CLONE, id=src["id"], name="Bad_Name")).payload("cloneEnvironment")
    assert codes(p) == ["VALIDATION"]
    p = (await owner.gql(CLONE, id=src["id"], name="0-9")).payload("cloneEnvironment")
    assert codes(p) == ["CONFLICT"]


async def test_admin_creates_at_root_for_the_owner(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    await active_member(owner, pal, accountRole="ADMIN")
    assert await can_create(pal, owner) is True
    p = await create(pal, owner)
    assert codes(p) == []
    e = p["environment"]
    assert e["owner"]["id"] == owner.id and e["createdBy"]["id"] == pal.id
    assert e["status"] == "RUNNING"
    # owned (and listed) by the owner, not the creator
    assert e["id"] in {x["id"] for x in (await owner.gql(ENVS)).data["environments"]}
    assert e["id"] not in {x["id"] for x in (await pal.gql(ENVS)).data["environments"]}
    # the creator can see it
    assert "env.view" in await policies_of(pal, e["id"])
    # a group without any share falls back to the root (ADMIN)
    g = await group(owner)
    assert codes(await create(pal, owner, g)) == []


async def test_viewer_member_without_env_create_is_forbidden(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    g = await group(owner)
    mid = await active_member(owner, pal, shares=[{"root": True, "roleIds": [FULL_ACCESS]}])
    assert await can_create(pal, owner) is False
    assert codes(await create(pal, owner)) == ["FORBIDDEN"]
    assert codes(await create(pal, owner, g)) == ["FORBIDDEN"]
    # suspended: can no longer see the owner's account
    (await owner.gql(SUSPEND, id=mid)).ok("suspendMember")
    assert codes(await create(pal, owner)) == ["NOT_FOUND"]
    stranger = await sign_up(gql, "Stranger")
    assert codes(await create(stranger, owner)) == ["NOT_FOUND"]
    assert codes(await create(stranger, owner, g)) == ["NOT_FOUND"]


async def test_env_create_from_root_share(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    g = await group(owner)
    await active_member(owner, pal, shares=[{"root": True, "roleIds": [CREATOR]}])
    assert await can_create(pal, owner) is True
    assert codes(await create(pal, owner)) == []
    assert codes(await create(pal, owner, g)) == []


async def test_env_create_group_share_nearest_ancestor_and_narrowing(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    top = await group(owner)
    child = await group(owner, parent=top)
    grandchild = await group(owner, parent=child)
    narrowed = await group(owner, parent=top)
    other_top = await group(owner)
    await active_member(owner, pal, shares=[
        {"groupId": top, "roleIds": [CREATOR, VIEWER]},
        {"groupId": narrowed, "roleIds": [VIEWER]},
    ])  # fmt: skip
    for g in (top, child, grandchild):
        p = await create(pal, owner, g)
        assert codes(p) == [], g
        assert g in {x["id"] for x in p["environment"]["groups"]}
    # a share on the group (or its nearest ancestor) without env.create decides: refused
    assert codes(await create(pal, owner, narrowed)) == ["FORBIDDEN"]
    # the root decides outside the shared subtree: no root share, not ADMIN
    assert codes(await create(pal, owner, other_top)) == ["FORBIDDEN"]
    assert codes(await create(pal, owner)) == ["FORBIDDEN"]


async def test_group_share_without_env_create_narrows_admin(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    g = await group(owner)
    child = await group(owner, parent=g)
    await active_member(owner, pal, accountRole="ADMIN",
                        shares=[{"groupId": g, "roleIds": [VIEWER]}])  # fmt: skip
    assert codes(await create(pal, owner)) == []
    assert codes(await create(pal, owner, g)) == ["FORBIDDEN"]
    assert codes(await create(pal, owner, child)) == ["FORBIDDEN"]


async def test_own_account_creation_by_kind(gql):
    owner = await sign_up(gql, "Owner")
    # COLLABORATOR on its own account: FORBIDDEN
    from .helpers import invitation_token, invite
    from .test_members import SIGN_UP_INV

    m = await invite(owner, "collab-only@corp.example", accountRole="ADMIN")
    tok = await invitation_token(m["id"])
    p = (await gql(SIGN_UP_INV, t=tok, p="a long password", n="C")).ok("signUpWithInvitation")
    collab = gql.as_(p["token"])
    cid = p["account"]["id"]
    r = await collab(CREATE_ENV, input={"name": uniq()})
    assert codes(r.payload("createEnvironment")) == ["FORBIDDEN"]
    r = await collab(CREATE_ENV, input={"name": uniq(), "ownerId": cid})
    assert codes(r.payload("createEnvironment")) == ["FORBIDDEN"]
    # ... yet may create for the owner it is ADMIN of
    r = await collab(CREATE_ENV, input={"name": uniq(), "ownerId": owner.id})
    assert codes(r.payload("createEnvironment")) == []
    # FULL may; a TRIAL that ended may not
    plat = platform(gql)
    full = await sign_up(gql, "Full")
    (await plat(SET_KIND, id=full.id, kind="FULL")).ok("platformSetAccountKind")
    assert codes(await create(full)) == []
    ended = await sign_up(gql, "Ended")
    (await plat(SET_KIND, id=ended.id, kind="TRIAL", ends="2020-01-01T00:00:00+00:00")).ok(
        "platformSetAccountKind"
    )
    assert codes(await create(ended)) == ["FORBIDDEN"]


async def test_environment_actions_forbidden_vs_not_found(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    stranger = await sign_up(gql, "Stranger")
    shared, unshared = await env(owner), await env(owner)
    mid = await active_member(owner, pal, shares=[
        {"environmentId": shared["id"], "roleIds": [VIEWER]}])  # fmt: skip
    for doc, name in ((START, "startEnvironment"), (STOP, "stopEnvironment"),
                      (RESTART, "restartNodes"), (DELETE_ENV, "deleteEnvironment")):  # fmt: skip
        assert codes((await pal.gql(doc, id=shared["id"])).payload(name)) == ["FORBIDDEN"], name
        # active member: sees the owner's account
        assert codes((await pal.gql(doc, id=unshared["id"])).payload(name)) == ["FORBIDDEN"], name
        assert codes((await stranger.gql(doc, id=shared["id"])).payload(name)) == ["NOT_FOUND"]
    p = (await pal.gql(RUN_ACTION, id=shared["id"], action="access.ssh")).payload(
        "runEnvironmentAction"
    )
    assert codes(p) == ["FORBIDDEN"]
    p = (await pal.gql(CLONE, id=shared["id"], name=uniq())).payload("cloneEnvironment")
    assert codes(p) == ["FORBIDDEN"]
    p = (await stranger.gql(RUN_ACTION, id=shared["id"], action="access.ssh")).payload(
        "runEnvironmentAction"
    )
    assert codes(p) == ["NOT_FOUND"]
    (await owner.gql(SUSPEND, id=mid)).ok("suspendMember")
    assert codes((await pal.gql(STOP, id=shared["id"])).payload("stopEnvironment")) == ["NOT_FOUND"]
    # nothing changed
    for x in (shared, unshared):
        got = await owner.gql("query($id: ID!){ environment(id:$id){ status } }", id=x["id"])
        assert got.data["environment"]["status"] == "RUNNING"


async def test_environment_actions_allowed(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    r = await owner.gql(
        CREATE_ROLE, input={"name": "deleter", "policies": ["env.view", "env.delete"]}
    )
    deleter = r.ok("createRole")["role"]["id"]
    e, d = await env(owner), await env(owner)
    await active_member(owner, pal, shares=[
        {"environmentId": e["id"], "roleIds": [LIMITED_ACCESS]},
        {"environmentId": d["id"], "roleIds": [deleter]},
    ])  # fmt: skip
    p = (await pal.gql(STOP, id=e["id"])).ok("stopEnvironment")
    assert p["environment"] == {"id": e["id"], "status": "STOPPED"}
    p = (await pal.gql(START, id=e["id"])).ok("startEnvironment")
    assert p["environment"]["status"] == "RUNNING"
    (await pal.gql(RESTART, id=e["id"])).ok("restartNodes")
    (await pal.gql(RUN_ACTION, id=e["id"], action="deploy.vcs")).ok("runEnvironmentAction")
    p = (await pal.gql(DELETE_ENV, id=d["id"])).ok("deleteEnvironment")
    assert p["environment"] == {"id": d["id"], "status": "DELETED"}
    p = (await owner.gql(START, id=d["id"])).payload("startEnvironment")
    assert codes(p) == ["INVALID_STATE"]


async def test_clone_is_running_and_lands_in_the_source_groups(gql):
    owner = await sign_up(gql, "Owner")
    g = await group(owner)
    src = await env(owner)
    await add(owner, src["id"], g)
    (await owner.gql(STOP, id=src["id"])).ok("stopEnvironment")
    p = (await owner.gql(CLONE, id=src["id"], name="the-copy")).ok("cloneEnvironment")
    c = p["environment"]
    assert c["id"] != src["id"] and c["name"] == "the-copy" and c["status"] == "RUNNING"
    assert c["owner"]["id"] == owner.id
    assert [x["id"] for x in c["groups"]] == [g]


async def test_group_of_another_owner_is_not_found(gql):
    owner = await sign_up(gql, "Owner")
    other = await sign_up(gql, "Other")
    g = await group(other)
    assert codes(await create(owner, group_id=g)) == ["NOT_FOUND"]
