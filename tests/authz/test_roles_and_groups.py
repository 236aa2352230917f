"""Custom roles and the group tree: what the owner may change, and the codes otherwise."""

from __future__ import annotations

from tests.authz.helpers import (
    ADD_TO_GROUP,
    CREATE_GROUP,
    ERRORS,
    FULL_ACCESS,
    MOVE_GROUP,
    VIEWER,
    active_member,
    create_env,
    create_group,
    my_policies,
    share,
)
from tests.utils.accounts import sign_up
from tests.utils.graphql import GraphQLClient

ROLE = "role { id name description builtIn receiveLoadAlerts policies { code } }"
CREATE_ROLE = f"mutation($input: RoleInput!) {{ createRole(input: $input) {{ {ROLE} {ERRORS} }} }}"
UPDATE_ROLE = f"""mutation($id: ID!, $input: RoleInput!) {{
  updateRole(id: $id, input: $input) {{ {ROLE} {ERRORS} }} }}"""
DELETE_ROLE = f"mutation($id: ID!) {{ deleteRole(id: $id) {{ {ROLE} {ERRORS} }} }}"
ROLES = "{ roles { id name builtIn } }"
POLICIES = "{ policies { code description } }"
RENAME = f"""mutation($id: ID!, $name: String!) {{
  renameEnvironmentGroup(id: $id, name: $name) {{ environmentGroup {{ id name }} {ERRORS} }} }}"""
DELETE_GROUP = f"""mutation($id: ID!) {{
  deleteEnvironmentGroup(id: $id) {{ environmentGroup {{ id name }} {ERRORS} }} }}"""
TREE = """{ environmentGroups { id name children { id name children { id name }
  environments { id } } environments { id } } }"""


def codes(r: object, name: str) -> list[str]:
    return [e["code"] for e in r.payload(name)["errors"]]  # type: ignore[attr-defined]


async def test_custom_roles(gql: GraphQLClient) -> None:
    owner, other, bob = [await sign_up(gql, n) for n in ("owner", "other", "bob")]
    policies = (await owner.gql(POLICIES)).data["policies"]
    assert len(policies) == 22 and policies[0]["code"] == "env.view"
    assert all(p["description"] for p in policies)
    assert "collaborators.manage" not in {p["code"] for p in policies}

    r = await owner.gql(CREATE_ROLE, input={"name": "Deployer", "policies": ["deploy.vcs",
                        "env.start"], "receiveLoadAlerts": True})  # fmt: skip
    role = r.ok("createRole")["role"]
    assert {p["code"] for p in role["policies"]} == {"deploy.vcs", "env.start"}
    assert role["builtIn"] is False and role["receiveLoadAlerts"] is True
    assert [x["name"] for x in (await owner.gql(ROLES)).data["roles"]] == [
        "Full access", "Limited access", "Viewer", "Creator", "Deployer"]  # fmt: skip
    assert "Deployer" not in {x["name"] for x in (await other.gql(ROLES)).data["roles"]}

    for bad, code in ((["env.fly"], "VALIDATION"), (["collaborators.manage"], "VALIDATION")):
        r = await owner.gql(CREATE_ROLE, input={"name": "Bad", "policies": bad})
        assert codes(r, "createRole") == [code]
    for taken in ("Deployer", "viewer", "Full access"):
        r = await owner.gql(CREATE_ROLE, input={"name": taken, "policies": []})
        assert codes(r, "createRole") == ["CONFLICT"], taken

    # Built-in roles are read-only (FORBIDDEN); another owner's role is NOT_FOUND.
    r = await owner.gql(UPDATE_ROLE, id=VIEWER, input={"name": "Viewer", "policies": []})
    assert codes(r, "updateRole") == ["FORBIDDEN"]
    assert codes(await owner.gql(DELETE_ROLE, id=FULL_ACCESS), "deleteRole") == ["FORBIDDEN"]
    for who, id_ in ((other, role["id"]), (owner, "garbage")):
        assert codes(await who.gql(DELETE_ROLE, id=id_), "deleteRole") == ["NOT_FOUND"]

    # A role in use changes access at once and is not deleted.
    env = (await create_env(owner, "app"))["id"]
    await active_member(owner, bob, shares=[share(role["id"], env=env)])
    assert await my_policies(bob, env) == {"env.view", "deploy.vcs", "env.start"}
    r = await owner.gql(UPDATE_ROLE, id=role["id"], input={"name": "Deployer+",
                        "policies": ["deploy.vcs", "logs.view"]})  # fmt: skip
    assert r.ok("updateRole")["role"]["name"] == "Deployer+"
    assert await my_policies(bob, env) == {"env.view", "deploy.vcs", "logs.view"}
    assert codes(await owner.gql(DELETE_ROLE, id=role["id"]), "deleteRole") == ["INVALID_STATE"]

    spare = await owner.gql(CREATE_ROLE, input={"name": "Spare", "policies": ["ssl.manage"]})
    spare_id = spare.ok("createRole")["role"]["id"]
    gone = (await owner.gql(DELETE_ROLE, id=spare_id)).ok("deleteRole")["role"]
    assert gone["name"] == "Spare" and gone["policies"] == [{"code": "ssl.manage"}]
    assert spare_id not in {x["id"] for x in (await owner.gql(ROLES)).data["roles"]}


async def test_group_tree(gql: GraphQLClient) -> None:
    owner, bob, stranger = [await sign_up(gql, n) for n in ("owner", "bob", "stranger")]
    top = await create_group(owner, "top")
    mid = await create_group(owner, "mid", top)
    leaf = await create_group(owner, "leaf", mid)
    env = (await create_env(owner, "app", groupId=leaf))["id"]
    await add_to_group_twice(owner, env, top)

    r = await owner.gql(CREATE_GROUP, name="mid", parentId=top)
    assert codes(r, "createEnvironmentGroup") == ["CONFLICT"]  # unique among siblings
    await create_group(owner, "mid")  # fine elsewhere
    r = await owner.gql(RENAME, id=leaf, name="   ")
    assert codes(r, "renameEnvironmentGroup") == ["VALIDATION"]
    assert (await owner.gql(RENAME, id=leaf, name="leaf-2")).ok("renameEnvironmentGroup")

    for target in (top, mid, leaf):  # under itself or a descendant: refused
        r = await owner.gql(MOVE_GROUP, id=top, parentId=target)
        assert codes(r, "moveEnvironmentGroup") == ["VALIDATION"]
    r = await owner.gql(MOVE_GROUP, id=mid, parentId=None)
    assert codes(r, "moveEnvironmentGroup") == ["CONFLICT"]  # a top-level "mid" exists

    tree = (await owner.gql(TREE)).data["environmentGroups"]
    assert [g["name"] for g in tree] == ["mid", "top"]
    assert tree[1]["environments"] == [{"id": env}]
    assert tree[1]["children"][0]["children"][0]["name"] == "leaf-2"

    # Only empty groups go.
    for group in (top, leaf):
        r = await owner.gql(DELETE_GROUP, id=group)
        assert codes(r, "deleteEnvironmentGroup") == ["INVALID_STATE"]

    # The tree is the owner's alone: a member sees FORBIDDEN, a stranger NOT_FOUND.
    await active_member(owner, bob, shares=[share(FULL_ACCESS, group=top)])
    for user, code in ((bob, "FORBIDDEN"), (stranger, "NOT_FOUND")):
        assert codes(await user.gql(RENAME, id=top, name="mine"),
                     "renameEnvironmentGroup") == [code]  # fmt: skip
        r = await user.gql(CREATE_GROUP, name="x", parentId=top)
        assert codes(r, "createEnvironmentGroup") == [code]

    spare = await create_group(owner, "spare", top)
    deleted = (await owner.gql(DELETE_GROUP, id=spare)).ok("deleteEnvironmentGroup")
    assert deleted["environmentGroup"] == {"id": spare, "name": "spare"}


async def add_to_group_twice(owner: object, env: str, group: str) -> None:
    """Adding is idempotent: an environment sits at most once in a group."""
    for _ in range(2):
        r = await owner.gql(ADD_TO_GROUP, e=env, g=group)  # type: ignore[attr-defined]
        groups = r.ok("addEnvironmentToGroup")["environment"]["groups"]
    assert len(groups) == 2
