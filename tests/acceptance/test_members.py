"""The member state machine, invitations and tokens, as owner and invitee see them."""

from __future__ import annotations

from tests.utils.members import INVITE

from .helpers import (
    ACCEPT,
    ACTIVATE,
    ERR,
    LEAVE,
    MEMBER,
    MEMBERS,
    MEMBERS_DEFAULT,
    REINVITE,
    REJECT,
    REMOVE,
    RESEND,
    SUSPEND,
    UPDATE_MEMBER,
    VIEWER,
    active_member,
    codes,
    env,
    invitation_token,
    invite,
    sign_up,
)

INVITATIONS = "{ invitations { id email status expiresAt owner { displayName email } } }"
BY_TOKEN = """
query($t: String!) { invitationByToken(token: $t) { id email status expiresAt owner { displayName email } } }"""
SIGN_UP_INV = f"""
mutation($t: String!, $p: String!, $n: String) {{
  signUpWithInvitation(token: $t, password: $p, displayName: $n) {{
    token account {{ id email kind }} {ERR}
  }}
}}"""
COPY = f"""
mutation($id: ID!, $email: String!, $n: String) {{
  copyMember(id: $id, email: $email, displayName: $n) {{ member {{ {MEMBER} }} {ERR} }}
}}"""
ME = "{ me { id kind } }"


async def status_of(owner, member_id):
    ms = (await owner.gql(MEMBERS_DEFAULT)).data["members"]
    return next(m["status"] for m in ms if m["id"] == member_id)


async def test_invite_validation_and_one_open_record_per_email(gql):
    owner = await sign_up(gql, "Owner")
    for email in (owner.email, owner.email.upper(), "no-at-sign", "a@", "@b.example"):
        p = (await owner.gql(INVITE, input={"email": email})).payload("inviteMember")
        assert [(e["code"], e["field"]) for e in p["errors"]] == [("VALIDATION", "email")], email
        assert p["member"] is None
    m = await invite(owner, "pal@reserved.example", displayName="Pal")
    assert m["status"] == "PENDING" and m["accountRole"] == "VIEWER"
    assert m["displayName"] == "Pal" and m["acceptedAt"] is None and m["invitedAt"]
    p = (await owner.gql(INVITE, input={"email": "PAL@reserved.example"})).payload("inviteMember")
    assert codes(p) == ["CONFLICT"]
    assert len((await owner.gql(MEMBERS_DEFAULT)).data["members"]) == 1


async def test_invitation_id_is_member_id_and_lists_pending_only(gql):
    owner = await sign_up(gql, "Olga Owner")
    other = await sign_up(gql, "Other Owner")
    pal = await sign_up(gql, "Pal")
    m1 = await invite(owner, pal.email)
    m2 = await invite(other, pal.email.upper())
    inv = (await pal.gql(INVITATIONS)).data["invitations"]
    assert {i["id"] for i in inv} == {m1["id"], m2["id"]}
    i1 = next(i for i in inv if i["id"] == m1["id"])
    assert i1["status"] == "PENDING" and i1["expiresAt"]
    assert i1["owner"] == {"displayName": "Olga Owner", "email": owner.email}
    assert i1["email"].lower() == pal.email.lower()
    # accept one by member id, reject the other by member id: both leave the pending list
    (await pal.gql(ACCEPT, id=m1["id"])).ok("acceptInvitation")
    p = (await pal.gql(REJECT, id=m2["id"])).ok("rejectInvitation")
    assert p["member"] == {"id": m2["id"], "status": "REJECTED"}
    assert (await pal.gql(INVITATIONS)).data["invitations"] == []
    # leaveCollaboration takes the same member id
    p = (await pal.gql(LEAVE, id=m1["id"])).ok("leaveCollaboration")
    assert p["member"] == {"id": m1["id"], "status": "LEFT"}
    assert await status_of(owner, m1["id"]) == "LEFT"
    assert await status_of(other, m2["id"]) == "REJECTED"


async def test_invitation_by_token_without_login(gql):
    owner = await sign_up(gql, "Tess Owner")
    m = await invite(owner, "someone@corp.example")
    token = await invitation_token(m["id"])
    inv = (await gql(BY_TOKEN, t=token)).data["invitationByToken"]
    assert inv["id"] == m["id"] and inv["status"] == "PENDING"
    assert inv["email"] == "someone@corp.example"
    assert inv["owner"] == {"displayName": "Tess Owner", "email": owner.email}
    r = await gql(BY_TOKEN, t=token + "x")
    assert r.data.get("invitationByToken") is None


async def test_state_machine_walk(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e = await env(owner)
    shares = [{"environmentId": e["id"], "roleIds": [VIEWER]}]
    m = await invite(owner, pal.email, shares=shares)
    mid = m["id"]
    # not allowed from PENDING: suspend, activate, reinvite; nothing changes
    for doc, name in ((SUSPEND, "suspendMember"), (ACTIVATE, "activateMember"),
                      (REINVITE, "reinviteMember")):  # fmt: skip
        p = (await owner.gql(doc, id=mid)).payload(name)
        assert codes(p) == ["INVALID_STATE"], name
        assert await status_of(owner, mid) == "PENDING"
    # resend works while PENDING
    assert (await owner.gql(RESEND, id=mid)).ok("resendInvitation")["member"]["status"] == "PENDING"
    (await pal.gql(ACCEPT, id=mid)).ok("acceptInvitation")
    assert await status_of(owner, mid) == "ACTIVE"
    for doc, name in ((RESEND, "resendInvitation"), (REINVITE, "reinviteMember"),
                      (ACTIVATE, "activateMember")):  # fmt: skip
        p = (await owner.gql(doc, id=mid)).payload(name)
        assert codes(p) == ["INVALID_STATE"], name
        assert await status_of(owner, mid) == "ACTIVE"
    p = (await owner.gql(SUSPEND, id=mid)).ok("suspendMember")
    assert p["member"]["status"] == "SUSPENDED"
    assert (await pal.gql("query($id: ID!){ environment(id:$id){ id } }", id=e["id"])).data.get(
        "environment"
    ) is None
    p = (await owner.gql(SUSPEND, id=mid)).payload("suspendMember")
    assert codes(p) == ["INVALID_STATE"]
    assert (await owner.gql(ACTIVATE, id=mid)).ok("activateMember")["member"]["status"] == "ACTIVE"
    p = (await owner.gql(REMOVE, id=mid)).ok("removeMember")
    assert p["member"]["status"] == "REMOVED"
    # record and shares kept
    assert [s["target"]["id"] for s in p["member"]["shares"]] == [e["id"]]
    for doc, name in ((SUSPEND, "suspendMember"), (ACTIVATE, "activateMember"),
                      (RESEND, "resendInvitation"), (REMOVE, "removeMember")):  # fmt: skip
        p = (await owner.gql(doc, id=mid)).payload(name)
        assert codes(p) == ["INVALID_STATE"], name
        assert await status_of(owner, mid) == "REMOVED"
    # reinvite: new PENDING invitation with the same shares
    p = (await owner.gql(REINVITE, id=mid)).ok("reinviteMember")
    assert p["member"]["status"] == "PENDING"
    assert [s["target"]["id"] for s in p["member"]["shares"]] == [e["id"]]
    assert [r["id"] for r in p["member"]["shares"][0]["roles"]] == [VIEWER]
    assert [i["id"] for i in (await pal.gql(INVITATIONS)).data["invitations"]] == [
        p["member"]["id"]
    ]


async def test_members_default_every_status_and_filter(gql):
    owner = await sign_up(gql, "Owner")
    users = [await sign_up(gql, f"u{i}") for i in range(4)]
    ids = {}
    ids["ACTIVE"] = await active_member(owner, users[0])
    ids["REMOVED"] = await active_member(owner, users[1])
    (await owner.gql(REMOVE, id=ids["REMOVED"])).ok("removeMember")
    ids["LEFT"] = await active_member(owner, users[2])
    (await users[2].gql(LEAVE, id=ids["LEFT"])).ok("leaveCollaboration")
    ids["PENDING"] = (await invite(owner, users[3].email))["id"]
    ids["REJECTED"] = (await invite(owner, "rej@corp.example"))["id"]
    tok = await invitation_token(ids["REJECTED"])
    (await gql(REJECT, token=tok)).ok("rejectInvitation")
    ms = (await owner.gql(MEMBERS_DEFAULT)).data["members"]
    assert {m["id"]: m["status"] for m in ms} == {v: k for k, v in ids.items()}
    ms = (await owner.gql(MEMBERS, status=None)).data["members"]
    assert len(ms) == 5
    ms = (await owner.gql(MEMBERS, status=["REMOVED", "LEFT"])).data["members"]
    assert {m["id"] for m in ms} == {ids["REMOVED"], ids["LEFT"]}
    ms = (await owner.gql(MEMBERS, status=["ACTIVE"])).data["members"]
    assert [m["id"] for m in ms] == [ids["ACTIVE"]]
    assert ms[0]["account"] == {"id": users[0].id} and ms[0]["acceptedAt"]
    # a member's own view does not list the owner's members
    assert (await users[0].gql(MEMBERS_DEFAULT)).data["members"] == []


async def test_token_rules(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    stranger = await sign_up(gql, "Stranger")
    m = await invite(owner, pal.email)
    old = await invitation_token(m["id"])
    (await owner.gql(RESEND, id=m["id"])).ok("resendInvitation")
    new = await invitation_token(m["id"])
    assert new != old
    # replaced by a re-send
    p = (await pal.gql(ACCEPT, token=old)).payload("acceptInvitation")
    assert codes(p) == ["INVALID_TOKEN"]
    r = await gql(BY_TOKEN, t=old)
    assert r.data.get("invitationByToken") is None
    # a valid token presented by a logged-in account with another email
    p = (await stranger.gql(ACCEPT, token=new)).payload("acceptInvitation")
    assert codes(p) == ["INVALID_TOKEN"]
    assert await status_of(owner, m["id"]) == "PENDING"
    # signUpWithInvitation when an account has that email: CONFLICT
    p = (await gql(SIGN_UP_INV, t=new, p="another long pass", n="X")).payload(
        "signUpWithInvitation"
    )
    assert codes(p) == ["CONFLICT"] and p["token"] is None
    p = (await pal.gql(ACCEPT, token=new)).ok("acceptInvitation")
    assert p["member"] == {"id": m["id"], "status": "ACTIVE"}
    # already answered
    for c in (pal.gql, gql):
        p = (await c(ACCEPT, token=new)).payload("acceptInvitation")
        assert codes(p) == ["INVALID_TOKEN"]
        p = (await c(REJECT, token=new)).payload("rejectInvitation")
        assert codes(p) == ["INVALID_TOKEN"]
    # token checks come before account checks: a spent token with a non-existing email
    p = (await gql(SIGN_UP_INV, t=new, p="another long pass", n="X")).payload(
        "signUpWithInvitation"
    )
    assert codes(p) == ["INVALID_TOKEN"]
    p = (await gql(SIGN_UP_INV, t="garbage", p="another long pass", n="X")).payload(
        "signUpWithInvitation"
    )
    assert codes(p) == ["INVALID_TOKEN"]
    assert await status_of(owner, m["id"]) == "ACTIVE"


async def test_sign_up_with_invitation_creates_collaborator_and_accepts(gql):
    owner = await sign_up(gql, "Owner")
    m = await invite(owner, "Fresh.Person@corp.example")
    tok = await invitation_token(m["id"])
    p = (await gql(SIGN_UP_INV, t=tok, p="a long password", n="Fresh")).ok("signUpWithInvitation")
    assert p["token"] and p["account"]["kind"] == "COLLABORATOR"
    assert p["account"]["email"].lower() == "fresh.person@corp.example"
    ms = (await owner.gql(MEMBERS_DEFAULT)).data["members"]
    assert ms[0]["status"] == "ACTIVE" and ms[0]["account"] == {"id": p["account"]["id"]}
    me = (await gql.as_(p["token"])(ME)).data["me"]
    assert me["kind"] == "COLLABORATOR"
    sw = (await gql.as_(p["token"])("{ sharedWithMe { owner { id } member { id status } } }")).data
    assert sw["sharedWithMe"] == [
        {"owner": {"id": owner.id}, "member": {"id": m["id"], "status": "ACTIVE"}}
    ]


async def test_copy_member_copies_role_and_shares(gql):
    owner = await sign_up(gql, "Owner")
    e = await env(owner)
    m = await invite(owner, "src@corp.example", accountRole="ADMIN",
                     shares=[{"environmentId": e["id"], "roleIds": [VIEWER]},
                             {"root": True, "roleIds": [VIEWER]}])  # fmt: skip
    p = (await owner.gql(COPY, id=m["id"], email="dst@corp.example", n="Dst")).ok("copyMember")
    c = p["member"]
    assert c["id"] != m["id"] and c["status"] == "PENDING" and c["accountRole"] == "ADMIN"
    assert c["email"] == "dst@corp.example" and c["displayName"] == "Dst"

    def shape(member):
        return sorted(
            (s["target"]["__typename"], s["target"].get("id"), tuple(r["id"] for r in s["roles"]))
            for s in member["shares"]
        )

    assert shape(c) == shape(m)
    assert {s["id"] for s in c["shares"]}.isdisjoint({s["id"] for s in m["shares"]})
    await invitation_token(c["id"])  # an invitation was sent


async def test_update_member_replaces_shares_and_fields(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e1, e2 = await env(owner), await env(owner)
    mid = await active_member(owner, pal, shares=[{"environmentId": e1["id"], "roleIds": [VIEWER]}])
    p = (await owner.gql(UPDATE_MEMBER, id=mid, input={"displayName": "Buddy"})).ok("updateMember")
    assert p["member"]["displayName"] == "Buddy" and len(p["member"]["shares"]) == 1
    p = (await owner.gql(UPDATE_MEMBER, id=mid, input={
        "accountRole": "ADMIN", "shares": [{"environmentId": e2["id"], "roleIds": [VIEWER]}]
    })).ok("updateMember")  # fmt: skip
    assert p["member"]["accountRole"] == "ADMIN"
    assert [s["target"]["id"] for s in p["member"]["shares"]] == [e2["id"]]
    # exactly one target per share
    for bad in ({"roleIds": [VIEWER]},
                {"environmentId": e1["id"], "root": True, "roleIds": [VIEWER]}):  # fmt: skip
        p = (await owner.gql(UPDATE_MEMBER, id=mid, input={"shares": [bad]})).payload(
            "updateMember"
        )
        assert codes(p) == ["VALIDATION"], bad
    # another owner's member is not visible
    other = await sign_up(gql, "Other")
    p = (await other.gql(UPDATE_MEMBER, id=mid, input={"displayName": "x"})).payload("updateMember")
    assert codes(p) == ["NOT_FOUND"]
    p = (await other.gql(SUSPEND, id=mid)).payload("suspendMember")
    assert codes(p) == ["NOT_FOUND"]
