"""@requiresPolicy fields, Environment.collaborators, sharedWithMe, and the SDL."""

from __future__ import annotations

import subprocess
import sys

from .helpers import (
    FULL_ACCESS,
    LIMITED_ACCESS,
    VIEWER,
    active_member,
    add,
    env,
    group,
    invite,
    set_shares,
    sign_up,
)

GUARDED = """query($id: ID!) { environment(id: $id) {
  id name myPolicies sshAccess ftpAccess logs resourceUsage { cloudlets } scalingHistory { at message } } }"""
COLLABORATORS = """query($id: ID!) { environment(id: $id) { id
  collaborators { member { id } roles { id } inherited } } }"""
SECTIONS = """{ sharedWithMe {
  owner { id displayName email } member { id status accountRole } canCreateEnvironments
  environments { id }
  groups { id name children { id name environments { id } children { id } } environments { id } } } }"""


def forbidden_paths(r):
    return {
        tuple(e["path"]) for e in r.errors if e.get("extensions", {}).get("code") == "FORBIDDEN"
    }


def test_sdl_declares_requires_policy() -> None:
    out = subprocess.run([sys.executable, "-m", "collab.cli", "schema"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "directive @requiresPolicy(policy: String!) on FIELD_DEFINITION" in out
    for field, policy in (("sshAccess: String", "access.ssh"), ("ftpAccess: String", "access.ftp"),
                          ("logs: [String!]", "logs.view"),
                          ("resourceUsage: ResourceUsage", "stats.view"),
                          ("scalingHistory: [ScalingEvent!]", "scaling.horizontal.history")):  # fmt: skip
        assert f'{field} @requiresPolicy(policy: "{policy}")' in out


async def test_guarded_fields_null_with_forbidden_at_path(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e = await env(owner)
    await active_member(owner, pal, shares=[{"environmentId": e["id"], "roleIds": [VIEWER]}])
    r = await pal.gql(GUARDED, id=e["id"])
    got = r.data["environment"]
    assert got["id"] == e["id"] and got["name"] == e["name"]
    assert got["sshAccess"] is None and got["ftpAccess"] is None and got["scalingHistory"] is None
    assert got["logs"] is not None and got["resourceUsage"] is not None
    assert forbidden_paths(r) == {("environment", "sshAccess"), ("environment", "ftpAccess"),
                                  ("environment", "scalingHistory")}  # fmt: skip
    # Limited access: ftp but not ssh
    await set_shares(owner, (await _mid(owner)), [
        {"environmentId": e["id"], "roleIds": [LIMITED_ACCESS]}])  # fmt: skip
    r = await pal.gql(GUARDED, id=e["id"])
    assert r.data["environment"]["ftpAccess"] is not None
    assert forbidden_paths(r) == {("environment", "sshAccess"), ("environment", "scalingHistory")}
    # owner reads everything
    r = await owner.gql(GUARDED, id=e["id"])
    assert r.errors == []
    assert r.data["environment"]["sshAccess"] is not None


async def test_guarded_fields_in_lists_report_the_list_path(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e = await env(owner)
    await active_member(owner, pal, shares=[{"environmentId": e["id"], "roleIds": [VIEWER]}])
    r = await pal.gql("{ sharedWithMe { environments { id sshAccess logs } } }")
    envs = r.data["sharedWithMe"][0]["environments"]
    assert len(envs) == 1 and envs[0]["id"] == e["id"]
    assert envs[0]["sshAccess"] is None and envs[0]["logs"] is not None
    assert forbidden_paths(r) == {("sharedWithMe", 0, "environments", 0, "sshAccess")}


async def _mid(owner):
    ms = (await owner.gql("{ members { id status } }")).data["members"]
    return next(m["id"] for m in ms if m["status"] == "ACTIVE")


async def test_collaborators_for_owner_with_inherited_flag(gql):
    owner = await sign_up(gql, "Owner")
    a, b, c = await sign_up(gql, "A"), await sign_up(gql, "B"), await sign_up(gql, "C")
    g = await group(owner)
    e = await env(owner)
    await add(owner, e["id"], g)
    ma = await active_member(owner, a, shares=[{"environmentId": e["id"], "roleIds": [VIEWER]}])
    mb = await active_member(owner, b, shares=[{"groupId": g, "roleIds": [LIMITED_ACCESS]}])
    mc = await active_member(owner, c, shares=[{"root": True, "roleIds": [FULL_ACCESS]}])
    await invite(
        owner, "pending@corp.example", shares=[{"environmentId": e["id"], "roleIds": [VIEWER]}]
    )
    r = await owner.gql(COLLABORATORS, id=e["id"])
    assert r.errors == []
    got = {x["member"]["id"]: (x["inherited"], [ro["id"] for ro in x["roles"]])
           for x in r.data["environment"]["collaborators"]}  # fmt: skip
    assert got == {ma: (False, [VIEWER]), mb: (True, [LIMITED_ACCESS]), mc: (True, [FULL_ACCESS])}
    # a member reads an empty list
    r = await a.gql(COLLABORATORS, id=e["id"])
    assert r.data["environment"]["collaborators"] == []


async def test_shared_with_me_sections(gql):
    owner = await sign_up(gql, "Owner Name")
    other = await sign_up(gql, "Other")
    pal = await sign_up(gql, "Pal")
    top = await group(owner, "top")
    child = await group(owner, "child", top)
    e_top = await env(owner)
    e_child = await env(owner)
    e_other = await env(owner)
    await add(owner, e_top["id"], top)
    await add(owner, e_child["id"], child)
    mid = await active_member(owner, pal, accountRole="ADMIN",
                              shares=[{"groupId": top, "roleIds": [VIEWER]}])  # fmt: skip
    # an ACTIVE membership with nothing shared still gets a section
    mid2 = await active_member(other, pal)
    secs = {s["owner"]["id"]: s for s in (await pal.gql(SECTIONS)).data["sharedWithMe"]}
    assert set(secs) == {owner.id, other.id}
    s = secs[owner.id]
    assert s["owner"] == {"id": owner.id, "displayName": "Owner Name", "email": owner.email}
    assert s["member"] == {"id": mid, "status": "ACTIVE", "accountRole": "ADMIN"}
    assert s["canCreateEnvironments"] is True
    # group reaches e_child through child (nearest ancestor); e_other not covered
    assert {x["id"] for x in s["environments"]} == {e_top["id"], e_child["id"]}
    assert [g["id"] for g in s["groups"]] == [top]
    assert s["groups"][0]["environments"] == [{"id": e_top["id"]}]
    assert [c["id"] for c in s["groups"][0]["children"]] == [child]
    assert s["groups"][0]["children"][0]["environments"] == [{"id": e_child["id"]}]
    so = secs[other.id]
    assert so["environments"] == [] and so["groups"] == [] and so["member"]["id"] == mid2
    assert so["canCreateEnvironments"] is False
    # root share lists everything
    await set_shares(owner, mid, [{"root": True, "roleIds": [VIEWER]}])
    secs = {s["owner"]["id"]: s for s in (await pal.gql(SECTIONS)).data["sharedWithMe"]}
    assert {x["id"] for x in secs[owner.id]["environments"]} == {
        e_top["id"], e_child["id"], e_other["id"]}  # fmt: skip
