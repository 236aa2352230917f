"""Roles and the environment-group tree."""

from __future__ import annotations

from .helpers import (
    ADD_TO_GROUP,
    CREATE_GROUP,
    CREATE_ROLE,
    CREATOR,
    ERR,
    FULL_ACCESS,
    LIMITED_ACCESS,
    REMOVE,
    REMOVE_FROM_GROUP,
    VIEWER,
    active_member,
    add,
    codes,
    env,
    group,
    sign_up,
)
from .test_precedence import role

ROLES = "{ roles { id name description policies { code } receiveLoadAlerts builtIn } }"
UPDATE_ROLE = f"""mutation($id: ID!, $input: RoleInput!) {{
  updateRole(id: $id, input: $input) {{ role {{ id name policies {{ code }} }} {ERR} }} }}"""
DELETE_ROLE = f"""mutation($id: ID!) {{
  deleteRole(id: $id) {{ role {{ id name description policies {{ code }} receiveLoadAlerts builtIn }} {ERR} }} }}"""
RENAME = f"""mutation($id: ID!, $name: String!) {{
  renameEnvironmentGroup(id: $id, name: $name) {{ environmentGroup {{ id name }} {ERR} }} }}"""
MOVE = f"""mutation($id: ID!, $parentId: ID) {{
  moveEnvironmentGroup(id: $id, parentId: $parentId) {{ environmentGroup {{ id parent {{ id }} }} {ERR} }} }}"""
DELETE_GROUP = f"""mutation($id: ID!) {{
  deleteEnvironmentGroup(id: $id) {{ environmentGroup {{ id name parent {{ id }} }} {ERR} }} }}"""
TREE = """{ environmentGroups { id name parent { id } environments { id }
  children { id name parent { id } children { id name children { id } } } } }"""

BUILTIN = {
    "Full access": (FULL_ACCESS, True),
    "Limited access": (LIMITED_ACCESS, False),
    "Viewer": (VIEWER, False),
    "Creator": (CREATOR, False),
}


async def test_builtin_and_custom_roles(gql):
    owner = await sign_up(gql, "Owner")
    other = await sign_up(gql, "Other")
    roles = (await owner.gql(ROLES)).data["roles"]
    by_name = {r["name"]: r for r in roles}
    for name, (rid, alerts) in BUILTIN.items():
        assert by_name[name]["id"] == rid and by_name[name]["builtIn"] is True
        assert by_name[name]["receiveLoadAlerts"] is alerts
    assert {p["code"] for p in by_name["Creator"]["policies"]} == {"env.create"}
    assert {p["code"] for p in by_name["Viewer"]["policies"]} == {
        "env.view",
        "logs.view",
        "stats.view",
    }
    p = (await owner.gql(CREATE_ROLE, input={"name": "Deployer", "description": "d",
        "policies": ["env.view", "deploy.vcs"], "receiveLoadAlerts": True})).ok("createRole")  # fmt: skip
    r = p["role"]
    assert r["builtIn"] is False and r["receiveLoadAlerts"] is True and r["description"] == "d"
    assert {x["code"] for x in r["policies"]} == {"env.view", "deploy.vcs"}
    assert r["id"] in {x["id"] for x in (await owner.gql(ROLES)).data["roles"]}
    # the caller's own only
    assert r["id"] not in {x["id"] for x in (await other.gql(ROLES)).data["roles"]}
    # name unique per owner; another owner may reuse it
    p = (await owner.gql(CREATE_ROLE, input={"name": "Deployer", "policies": []})).payload(
        "createRole"
    )
    assert codes(p) == ["CONFLICT"]
    (await other.gql(CREATE_ROLE, input={"name": "Deployer", "policies": []})).ok("createRole")
    # unknown policy, collaborators.manage: refused
    for bad in (["no.such"], ["collaborators.manage"]):
        p = (await owner.gql(CREATE_ROLE, input={"name": "x" + bad[0], "policies": bad})).payload(
            "createRole"
        )
        assert codes(p) == ["VALIDATION"], bad
    # built-in roles are read-only
    p = (await owner.gql(UPDATE_ROLE, id=VIEWER, input={"name": "Viewer", "policies": ["env.view"]}
                         )).payload("updateRole")  # fmt: skip
    assert codes(p) == ["FORBIDDEN"]
    p = (await owner.gql(DELETE_ROLE, id=VIEWER)).payload("deleteRole")
    assert codes(p) == ["FORBIDDEN"]
    # another owner's role: not found
    p = (await other.gql(DELETE_ROLE, id=r["id"])).payload("deleteRole")
    assert codes(p) == ["NOT_FOUND"]


async def test_delete_role_returns_last_state_and_refuses_role_in_use(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e = await env(owner)
    used = await role(owner, "env.view", "logs.view", name="used")
    free = await role(owner, "env.view", name="free", alerts=True)
    mid = await active_member(owner, pal, shares=[{"environmentId": e["id"], "roleIds": [used]}])
    p = (await owner.gql(DELETE_ROLE, id=used)).payload("deleteRole")
    assert codes(p) == ["INVALID_STATE"]
    # still in use while kept on a removed member
    (await owner.gql(REMOVE, id=mid)).ok("removeMember")
    p = (await owner.gql(DELETE_ROLE, id=used)).payload("deleteRole")
    assert codes(p) == ["INVALID_STATE"]
    assert used in {x["id"] for x in (await owner.gql(ROLES)).data["roles"]}
    p = (await owner.gql(DELETE_ROLE, id=free)).ok("deleteRole")
    assert p["role"]["id"] == free and p["role"]["name"] == "free"
    assert p["role"]["receiveLoadAlerts"] is True and p["role"]["builtIn"] is False
    assert [x["code"] for x in p["role"]["policies"]] == ["env.view"]
    assert free not in {x["id"] for x in (await owner.gql(ROLES)).data["roles"]}
    p = (await owner.gql(DELETE_ROLE, id=free)).payload("deleteRole")
    assert codes(p) == ["NOT_FOUND"]


async def test_group_tree_names_moves_and_cycles(gql):
    owner = await sign_up(gql, "Owner")
    a = await group(owner, "a")
    b = await group(owner, "b", a)
    c = await group(owner, "c", b)
    # names unique among siblings only
    p = (await owner.gql(CREATE_GROUP, name="a", parentId=None)).payload("createEnvironmentGroup")
    assert codes(p) == ["CONFLICT"]
    p = (await owner.gql(CREATE_GROUP, name="b", parentId=a)).payload("createEnvironmentGroup")
    assert codes(p) == ["CONFLICT"]
    (await owner.gql(CREATE_GROUP, name="a", parentId=a)).ok("createEnvironmentGroup")
    x = await group(owner, "x")
    p = (await owner.gql(RENAME, id=x, name="a")).payload("renameEnvironmentGroup")
    assert codes(p) == ["CONFLICT"]
    p = (await owner.gql(RENAME, id=x, name="y")).ok("renameEnvironmentGroup")
    assert p["environmentGroup"] == {"id": x, "name": "y"}
    # cycles refused, nothing changed
    for target in (a, b, c):
        p = (await owner.gql(MOVE, id=a, parentId=target)).payload("moveEnvironmentGroup")
        assert codes(p) == ["VALIDATION"], target
    p = (await owner.gql(MOVE, id=b, parentId=c)).payload("moveEnvironmentGroup")
    assert codes(p) == ["VALIDATION"]
    tree = (await owner.gql(TREE)).data["environmentGroups"]
    assert {g["name"] for g in tree} == {"a", "y"}
    ga = next(g for g in tree if g["id"] == a)
    assert ga["parent"] is None
    gb = next(g for g in ga["children"] if g["id"] == b)
    assert [ch["id"] for ch in gb["children"]] == [c]
    # legal moves: c to the top, then under y
    p = (await owner.gql(MOVE, id=c, parentId=None)).ok("moveEnvironmentGroup")
    assert p["environmentGroup"]["parent"] is None
    p = (await owner.gql(MOVE, id=c, parentId=x)).ok("moveEnvironmentGroup")
    assert p["environmentGroup"]["parent"] == {"id": x}
    # moving into a clashing sibling name
    await group(owner, "dup", a)
    dup_top = await group(owner, "dup")
    p = (await owner.gql(MOVE, id=dup_top, parentId=a)).payload("moveEnvironmentGroup")
    assert codes(p) == ["CONFLICT"]
    # another owner's group is not visible
    other = await sign_up(gql, "Other")
    p = (await other.gql(RENAME, id=a, name="zzz")).payload("renameEnvironmentGroup")
    assert codes(p) == ["NOT_FOUND"]


async def test_delete_group_only_when_empty_returns_last_state(gql):
    owner = await sign_up(gql, "Owner")
    top = await group(owner, "top")
    child = await group(owner, "child", top)
    e = await env(owner)
    await add(owner, e["id"], child)
    p = (await owner.gql(DELETE_GROUP, id=top)).payload("deleteEnvironmentGroup")
    assert codes(p) == ["INVALID_STATE"]
    p = (await owner.gql(DELETE_GROUP, id=child)).payload("deleteEnvironmentGroup")
    assert codes(p) == ["INVALID_STATE"]
    r = await owner.gql(REMOVE_FROM_GROUP, e=e["id"], g=child)
    assert r.ok("removeEnvironmentFromGroup")["environment"]["groups"] == []
    p = (await owner.gql(DELETE_GROUP, id=child)).ok("deleteEnvironmentGroup")
    assert p["environmentGroup"] == {"id": child, "name": "child", "parent": {"id": top}}
    p = (await owner.gql(DELETE_GROUP, id=top)).ok("deleteEnvironmentGroup")
    assert p["environmentGroup"]["id"] == top and p["environmentGroup"]["name"] == "top"
    assert (await owner.gql(TREE)).data["environmentGroups"] == []


async def test_environment_in_many_groups(gql):
    owner = await sign_up(gql, "Owner")
    g1, g2 = await group(owner), await group(owner)
    e = await env(owner)
    await add(owner, e["id"], g1)
    r = await owner.gql(ADD_TO_GROUP, e=e["id"], g=g2)
    assert {g["id"] for g in r.ok("addEnvironmentToGroup")["environment"]["groups"]} == {g1, g2}
    # not for members or strangers
    pal = await sign_up(gql, "Pal")
    await active_member(owner, pal, shares=[{"root": True, "roleIds": [FULL_ACCESS]}])
    p = (await pal.gql(REMOVE_FROM_GROUP, e=e["id"], g=g1)).payload("removeEnvironmentFromGroup")
    assert p["errors"] and codes(p)[0] in ("FORBIDDEN", "NOT_FOUND")
