"""Finer points of the contract."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.utils.members import INVITE

from .helpers import (
    ACCEPT,
    ALL_P,
    CREATE_ENV,
    ERR,
    FULL_ACCESS,
    FULL_P,
    LEAVE,
    MEMBERS_DEFAULT,
    REINVITE,
    REJECT,
    SET_KIND,
    SHARE_ENV,
    STOP,
    SUSPEND,
    VIEWER,
    VIEWER_P,
    active_member,
    add,
    codes,
    env,
    group,
    invite,
    platform,
    policies_of,
    set_shares,
    sign_up,
    uniq,
)
from .test_audit_explain import nodes

SECTIONS = "{ sharedWithMe { owner { id } groups { id children { id } } environments { id } } }"
INVITATIONS = "{ invitations { id expiresAt } }"
EXPLAIN_SHORT = """query($m: ID!, $e: ID!) {
  explainAccess(memberId: $m, environmentId: $e) { policies level reason } }"""
ALERT = f"""mutation($e: ID!, $m: String!) {{
  reportLoadAlert(environmentId: $e, message: $m) {{ environment {{ id }} {ERR} }} }}"""


async def test_owner_has_every_policy(gql):
    owner = await sign_up(gql, "Owner")
    e = await env(owner)
    assert await policies_of(owner, e["id"]) == ALL_P


async def test_unshared_group_does_not_fall_back_to_root_when_another_group_decides(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    shared, unshared = await group(owner), await group(owner)
    e = await env(owner)
    await add(owner, e["id"], shared)
    await add(owner, e["id"], unshared)
    await active_member(owner, pal, shares=[
        {"root": True, "roleIds": [FULL_ACCESS]}, {"groupId": shared, "roleIds": [VIEWER]}])  # fmt: skip
    assert await policies_of(pal, e["id"]) == VIEWER_P


async def test_share_expiry_and_trial_end_are_checked_at_request_time(gql):
    """Expired shares do not count (nor outrank); a trial that ends cuts access at once."""
    owner = await sign_up(gql, "Owner")
    pal, pal2, pal3 = (await sign_up(gql, "Pal"), await sign_up(gql, "Pal2"),
                       await sign_up(gql, "Pal3"))  # fmt: skip
    mid = await active_member(owner, pal)
    mid2 = await active_member(owner, pal2)
    await active_member(owner, pal3, accountRole="ADMIN",
                        shares=[{"root": True, "roleIds": [FULL_ACCESS]}])  # fmt: skip
    e = await env(owner)
    now = datetime.now(UTC)
    soon = (now + timedelta(seconds=1)).isoformat()
    future = (now + timedelta(days=1)).isoformat()
    await set_shares(owner, mid, [
        {"environmentId": e["id"], "roleIds": [FULL_ACCESS], "expiresAt": soon},
        {"root": True, "roleIds": [VIEWER], "expiresAt": future},
    ])  # fmt: skip
    await set_shares(owner, mid2, [{"root": True, "roleIds": [VIEWER], "expiresAt": soon}])
    (await platform(gql)(SET_KIND, id=pal3.id, kind="TRIAL", ends=soon)).ok(
        "platformSetAccountKind"
    )
    assert await policies_of(pal, e["id"]) == FULL_P
    assert await policies_of(pal2, e["id"]) == VIEWER_P
    assert await policies_of(pal3, e["id"]) == FULL_P
    await asyncio.sleep(
        max(0.0, (now + timedelta(seconds=1.15) - datetime.now(UTC)).total_seconds())
    )
    # the expired direct share no longer outranks the root share
    assert await policies_of(pal, e["id"]) == VIEWER_P
    x = (await owner.gql(EXPLAIN_SHORT, m=mid, e=e["id"])).data["explainAccess"]
    assert x["level"] == "ROOT" and set(x["policies"]) == VIEWER_P
    assert await policies_of(pal2, e["id"]) is None
    x = (await owner.gql(EXPLAIN_SHORT, m=mid2, e=e["id"])).data["explainAccess"]
    assert x["level"] == "NONE" and x["policies"] == [] and x["reason"] == "SHARE_EXPIRED"
    # no worker has run: the trial end is checked at request time
    assert await policies_of(pal3, e["id"]) is None
    assert (await pal3.gql(SECTIONS)).data["sharedWithMe"] == []
    p = (await pal3.gql(STOP, id=e["id"])).payload("stopEnvironment")
    assert codes(p) == ["NOT_FOUND"]
    r = await pal3.gql(CREATE_ENV, input={"name": uniq(), "ownerId": owner.id})
    assert codes(r.payload("createEnvironment")) == ["NOT_FOUND"]
    # nor on its own account
    r = await pal3.gql(CREATE_ENV, input={"name": uniq()})
    assert codes(r.payload("createEnvironment")) == ["FORBIDDEN"]


async def test_invitation_expires_in_7_days_by_default(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    await invite(owner, pal.email)
    inv = (await pal.gql(INVITATIONS)).data["invitations"][0]
    ends = datetime.fromisoformat(inv["expiresAt"].replace("Z", "+00:00"))
    delta = ends - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < delta <= timedelta(days=7, minutes=1)


async def test_member_side_mutations_are_the_invitees_only(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    other = await sign_up(gql, "Other")
    pending = await invite(owner, pal.email)
    for doc, name in ((ACCEPT, "acceptInvitation"), (REJECT, "rejectInvitation")):
        p = (await other.gql(doc, id=pending["id"])).payload(name)
        assert codes(p) == ["NOT_FOUND"], name
        # the owner cannot answer for the invitee either
        p = (await owner.gql(doc, id=pending["id"])).payload(name)
        assert codes(p) == ["NOT_FOUND"], name
    (await pal.gql(ACCEPT, id=pending["id"])).ok("acceptInvitation")
    p = (await other.gql(LEAVE, id=pending["id"])).payload("leaveCollaboration")
    assert codes(p) == ["NOT_FOUND"]
    ms = (await owner.gql(MEMBERS_DEFAULT)).data["members"]
    assert ms[0]["status"] == "ACTIVE"


async def test_reinvite_from_left_rejected_and_conflict_while_open(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e = await env(owner)
    mid = await active_member(owner, pal, shares=[{"environmentId": e["id"], "roleIds": [VIEWER]}])
    (await pal.gql(LEAVE, id=mid)).ok("leaveCollaboration")
    assert await policies_of(pal, e["id"]) is None
    p = (await owner.gql(REINVITE, id=mid)).ok("reinviteMember")
    assert p["member"]["status"] == "PENDING" and p["member"]["id"] == mid
    (await pal.gql(REJECT, id=mid)).ok("rejectInvitation")
    p = (await owner.gql(REINVITE, id=mid)).ok("reinviteMember")
    assert p["member"]["status"] == "PENDING"
    (await pal.gql(ACCEPT, id=mid)).ok("acceptInvitation")
    assert await policies_of(pal, e["id"]) == VIEWER_P  # same shares
    # leave from SUSPENDED is allowed; pending cannot leave
    (await owner.gql(SUSPEND, id=mid)).ok("suspendMember")
    (await pal.gql(LEAVE, id=mid)).ok("leaveCollaboration")
    # a new invitation for the same email while the old record ended: a new record
    m2 = await invite(owner, pal.email)
    assert m2["id"] != mid
    p = (await owner.gql(REINVITE, id=mid)).payload("reinviteMember")
    assert codes(p) == ["CONFLICT"]
    p = (await pal.gql(LEAVE, id=m2["id"])).payload("leaveCollaboration")
    assert codes(p) == ["INVALID_STATE"]


async def test_audit_sharing_changes_and_member_denials(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    stranger = await sign_up(gql, "Stranger")
    e = await env(owner)
    mid = await active_member(owner, pal)
    before = len(await nodes(owner))
    await set_shares(owner, mid, [{"environmentId": e["id"], "roleIds": [VIEWER]}])
    after_update = await nodes(owner)
    assert len(after_update) > before
    assert after_update[0]["actor"]["id"] == owner.id
    (await owner.gql(SHARE_ENV, e=e["id"], grants=[{"memberId": mid, "roleIds": [FULL_ACCESS]}])
     ).ok("shareEnvironment")  # fmt: skip
    after_share = await nodes(owner)
    assert len(after_share) > len(after_update)
    # the owner's own environment actions are not collaborator actions
    (await owner.gql(STOP, id=e["id"])).ok("stopEnvironment")
    assert len(await nodes(owner)) == len(after_share)
    # a suspended member's attempt is a denial, recorded
    (await owner.gql(SUSPEND, id=mid)).ok("suspendMember")
    n = len(await nodes(owner))
    assert codes((await pal.gql(STOP, id=e["id"])).payload("stopEnvironment")) == ["NOT_FOUND"]
    log = await nodes(owner)
    assert len(log) == n + 1 and log[0]["outcome"] == "DENIED" and log[0]["actor"]["id"] == pal.id
    # a stranger's is not
    assert codes((await stranger.gql(STOP, id=e["id"])).payload("stopEnvironment")) == ["NOT_FOUND"]
    assert len(await nodes(owner)) == n + 1


async def test_shared_with_me_groups_are_topmost_shared(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    top = await group(owner)
    child = await group(owner, parent=top)
    side = await group(owner)
    await active_member(owner, pal, shares=[
        {"groupId": top, "roleIds": [VIEWER]}, {"groupId": child, "roleIds": [FULL_ACCESS]}])  # fmt: skip
    s = (await pal.gql(SECTIONS)).data["sharedWithMe"][0]
    assert [g["id"] for g in s["groups"]] == [top]
    assert [c["id"] for c in s["groups"][0]["children"]] == [child]
    assert side not in str(s)


async def test_delete_group_deletes_its_shares(gql):
    from .test_roles_groups import DELETE_GROUP

    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    g = await group(owner)
    mid = await active_member(owner, pal, shares=[
        {"groupId": g, "roleIds": [VIEWER]}, {"root": True, "roleIds": [VIEWER]}])  # fmt: skip
    (await owner.gql(DELETE_GROUP, id=g)).ok("deleteEnvironmentGroup")
    ms = (await owner.gql(MEMBERS_DEFAULT)).data["members"]
    m = next(x for x in ms if x["id"] == mid)
    assert [s["target"]["__typename"] for s in m["shares"]] == ["EnvironmentsRoot"]


async def test_mutations_without_login(gql):
    owner = await sign_up(gql, "Owner")
    e = await env(owner)
    p = (await gql(STOP, id=e["id"])).data.get("stopEnvironment")
    r = await gql(STOP, id=e["id"])
    assert (p and codes(p) == ["UNAUTHENTICATED"]) or "UNAUTHENTICATED" in r.codes()
    r = await gql(INVITE, input={"email": "x@corp.example"})
    p = r.data.get("inviteMember")
    assert (p and codes(p) == ["UNAUTHENTICATED"]) or "UNAUTHENTICATED" in r.codes()
    # a bogus token without login is a token problem first
    p = (await gql(ACCEPT, token="bogus")).payload("acceptInvitation")
    assert codes(p) == ["INVALID_TOKEN"]


async def test_platform_reads_what_it_changes_and_unknown_ids(gql):
    u = await sign_up(gql, "Acc")
    plat = platform(gql)
    doc = f"""mutation($id: ID!) {{ platformSetAccountKind(accountId: $id, kind: FULL) {{
      account {{ id email displayName kind trialEndsAt }} {ERR} }} }}"""
    p = (await plat(doc, id=u.id)).ok("platformSetAccountKind")
    assert p["account"]["email"] == u.email and p["account"]["displayName"] == "Acc"
    assert p["account"]["trialEndsAt"] is None
    p = (await plat(doc, id="does-not-exist")).payload("platformSetAccountKind")
    assert codes(p) == ["NOT_FOUND"]
    p = (await plat(ALERT, e="does-not-exist", m="x")).payload("reportLoadAlert")
    assert codes(p) == ["NOT_FOUND"]


async def test_failed_logins_are_rate_limited_the_same_for_unknown_email(gql):
    from .test_accounts import LOG_IN

    u = await sign_up(gql, "Target")
    answers = set()
    for _ in range(12):
        p = (await gql(LOG_IN, email=u.email, password="wrong one!")).payload("logIn")
        answers.add(tuple(codes(p)))
    assert ("RATE_LIMITED",) in answers
    ghost = "ghost-" + u.email
    answers2 = set()
    for _ in range(12):
        p = (await gql(LOG_IN, email=ghost, password="wrong one!")).payload("logIn")
        answers2.add(tuple(codes(p)))
    assert answers == answers2
