"""More probes of the contract's wording."""

from __future__ import annotations

from tests.utils.members import INVITE

from .helpers import (
    ACCEPT,
    ACTIVATE,
    CREATE_ROLE,
    CREATOR,
    ERR,
    FULL_ACCESS,
    MEMBER,
    MEMBERS_DEFAULT,
    REINVITE,
    REJECT,
    REMOVE,
    RESEND,
    SET_KIND,
    SUSPEND,
    VIEWER,
    active_member,
    add,
    codes,
    env,
    group,
    invitation_token,
    invite,
    platform,
    policies_of,
    sign_up,
)
from .test_fields import COLLABORATORS

BY_TOKEN = "query($t: String!) { invitationByToken(token: $t) { id status } }"
INVITATIONS = "{ invitations { id status } }"
COPY = f"""mutation($id: ID!, $email: String!) {{
  copyMember(id: $id, email: $email) {{ member {{ {MEMBER} }} {ERR} }} }}"""
EXPLAIN = """query($m: ID!, $e: ID!) { explainAccess(memberId: $m, environmentId: $e) {
  policies level reason } }"""
PAST = "2020-01-01T00:00:00+00:00"


async def test_any_covering_share_implies_env_view(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    r = await owner.gql(CREATE_ROLE, input={"name": "ssh-only", "policies": ["access.ssh"]})
    ssh = r.ok("createRole")["role"]["id"]
    r = await owner.gql(CREATE_ROLE, input={"name": "nothing", "policies": []})
    empty = r.ok("createRole")["role"]["id"]
    a, b = await env(owner), await env(owner)
    g = await group(owner)
    c = await env(owner)
    await add(owner, c["id"], g)
    await active_member(owner, pal, shares=[
        {"environmentId": a["id"], "roleIds": [ssh]},
        {"environmentId": b["id"], "roleIds": [empty]},
        {"groupId": g, "roleIds": [CREATOR]},
    ])  # fmt: skip
    assert await policies_of(pal, a["id"]) == {"env.view", "access.ssh"}
    pb = await policies_of(pal, b["id"])
    assert pb is not None and "env.view" in pb
    pc = await policies_of(pal, c["id"])
    assert pc is not None and "env.view" in pc


async def test_admin_without_shares_sees_no_environment(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e = await env(owner)
    await active_member(owner, pal, accountRole="ADMIN")
    assert await policies_of(pal, e["id"]) is None
    s = (await pal.gql("{ sharedWithMe { environments { id } canCreateEnvironments } }")).data
    assert s["sharedWithMe"] == [{"environments": [], "canCreateEnvironments": True}]


async def test_removed_pending_invitation_token_is_spent(gql, http):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    m = await invite(owner, pal.email)
    tok = await invitation_token(m["id"])
    (await owner.gql(REMOVE, id=m["id"])).ok("removeMember")
    p = (await pal.gql(ACCEPT, token=tok)).payload("acceptInvitation")
    assert codes(p) == ["INVALID_TOKEN"]
    assert (await pal.gql(INVITATIONS)).data["invitations"] == []
    assert (await http.get(f"/invitations/{tok}")).status_code == 404
    # reinvite: a new token works, the old one stays spent
    (await owner.gql(REINVITE, id=m["id"])).ok("reinviteMember")
    new = await invitation_token(m["id"])
    assert new != tok
    assert (await gql(BY_TOKEN, t=new)).data["invitationByToken"] == {
        "id": m["id"],
        "status": "PENDING",
    }
    p = (await pal.gql(ACCEPT, token=tok)).payload("acceptInvitation")
    assert codes(p) == ["INVALID_TOKEN"]
    (await pal.gql(ACCEPT, token=new)).ok("acceptInvitation")


async def test_reject_by_token_needs_no_login_and_resend_rotates(gql):
    owner = await sign_up(gql, "Owner")
    m = await invite(owner, "someone@corp.example")
    t1 = await invitation_token(m["id"])
    (await owner.gql(RESEND, id=m["id"])).ok("resendInvitation")
    t2 = await invitation_token(m["id"])
    assert (await gql(BY_TOKEN, t=t2)).data["invitationByToken"]["id"] == m["id"]
    p = (await gql(REJECT, token=t1)).payload("rejectInvitation")
    assert codes(p) == ["INVALID_TOKEN"]
    p = (await gql(REJECT, token=t2)).ok("rejectInvitation")
    assert p["member"] == {"id": m["id"], "status": "REJECTED"}
    p = (await owner.gql(RESEND, id=m["id"])).payload("resendInvitation")
    assert codes(p) == ["INVALID_STATE"]


async def test_invited_before_sign_up_then_accepts(gql):
    owner = await sign_up(gql, "Owner")
    m = await invite(owner, "early-bird@corp.example")
    pal = await sign_up(gql, "Early", email="Early-Bird@corp.example")
    assert (await pal.gql(INVITATIONS)).data["invitations"] == [
        {"id": m["id"], "status": "PENDING"}
    ]
    (await pal.gql(ACCEPT, id=m["id"])).ok("acceptInvitation")
    ms = (await owner.gql(MEMBERS_DEFAULT)).data["members"]
    assert ms[0]["account"] == {"id": pal.id}


async def test_copy_member_validation(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    mid = await active_member(owner, pal)
    for bad in (owner.email, "broken"):
        p = (await owner.gql(COPY, id=mid, email=bad)).payload("copyMember")
        assert [(e["code"], e["field"]) for e in p["errors"]] == [("VALIDATION", "email")], bad
    p = (await owner.gql(COPY, id=mid, email=pal.email)).payload("copyMember")
    assert codes(p) == ["CONFLICT"]


async def test_trial_expired_member_cannot_be_suspended_or_activated(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e = await env(owner)
    mid = await active_member(owner, pal, shares=[{"root": True, "roleIds": [VIEWER]}])
    (await platform(gql)(SET_KIND, id=pal.id, kind="TRIAL", ends=PAST)).ok("platformSetAccountKind")
    for doc, name in ((SUSPEND, "suspendMember"), (ACTIVATE, "activateMember")):
        p = (await owner.gql(doc, id=mid)).payload(name)
        assert codes(p) == ["INVALID_STATE"], name
    assert await policies_of(pal, e["id"]) is None
    p = (await owner.gql(REMOVE, id=mid)).ok("removeMember")
    assert p["member"]["status"] == "REMOVED"
    x = (await owner.gql(EXPLAIN, m=mid, e=e["id"])).data["explainAccess"]
    assert x["policies"] == [] and x["reason"] == "NOT_ACTIVE"


async def test_collaborators_lists_only_members_with_access(gql):
    owner = await sign_up(gql, "Owner")
    a, b = await sign_up(gql, "A"), await sign_up(gql, "B")
    e = await env(owner)
    ma = await active_member(owner, a, shares=[{"root": True, "roleIds": [VIEWER]}])
    mb = await active_member(
        owner, b, shares=[{"environmentId": e["id"], "roleIds": [FULL_ACCESS]}]
    )
    (await owner.gql(REMOVE, id=mb)).ok("removeMember")
    r = await owner.gql(COLLABORATORS, id=e["id"])
    assert [c["member"]["id"] for c in r.data["environment"]["collaborators"]] == [ma]


async def test_shares_must_reference_the_owners_objects(gql):
    owner = await sign_up(gql, "Owner")
    other = await sign_up(gql, "Other")
    foreign_env = await env(other)
    foreign_group = await group(other)
    r = await other.gql(CREATE_ROLE, input={"name": "theirs", "policies": ["env.view"]})
    foreign_role = r.ok("createRole")["role"]["id"]
    mine = await env(owner)
    for share in ({"environmentId": foreign_env["id"], "roleIds": [VIEWER]},
                  {"groupId": foreign_group, "roleIds": [VIEWER]},
                  {"environmentId": mine["id"], "roleIds": [foreign_role]},
                  {"environmentId": mine["id"], "roleIds": []}):  # fmt: skip
        p = (await owner.gql(INVITE, input={"email": "x@corp.example", "shares": [share]})).payload(
            "inviteMember"
        )
        assert p["errors"] and p["member"] is None, share
    assert (await owner.gql(MEMBERS_DEFAULT)).data["members"] == []


async def test_graphiql_on_get(http):
    r = await http.get("/graphql", headers={"Accept": "text/html"})
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
