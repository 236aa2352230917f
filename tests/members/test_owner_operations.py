"""The owner's member management: edit, copy, re-invite, filters, and who may do it."""

from __future__ import annotations

import uuid

import pytest

from models import AuditEntry, Member, OutboxJob
from tests.utils.accounts import sign_up
from tests.utils.members import (
    ERRORS,
    FULL_ACCESS,
    MEMBER_FIELDS,
    VIEWER,
    active_member,
    invitation_token,
    invite,
)

UPDATE = f"""
mutation($id: ID!, $input: UpdateMemberInput!) {{
  updateMember(id: $id, input: $input) {{ member {{ {MEMBER_FIELDS} }} {ERRORS} }}
}}"""
COPY = f"""
mutation($id: ID!, $email: String!, $name: String) {{
  copyMember(id: $id, email: $email, displayName: $name) {{ member {{ {MEMBER_FIELDS} }} {ERRORS} }}
}}"""
REINVITE = (
    f"mutation($id: ID!) {{ reinviteMember(id: $id) {{ member {{ {MEMBER_FIELDS} }} {ERRORS} }} }}"
)
REMOVE = f"mutation($id: ID!) {{ removeMember(id: $id) {{ member {{ id status }} {ERRORS} }} }}"
MEMBERS_BY_STATUS = "query($s: [MemberStatus!]) { members(status: $s) { id status } }"

ROOT_VIEWER = [{"root": True, "roleIds": [VIEWER]}]


def share_summary(member: dict) -> list[tuple[str, list[str]]]:
    return sorted(
        (s["target"]["__typename"], sorted(r["id"] for r in s["roles"])) for s in member["shares"]
    )


async def test_update_member_changes_only_what_is_given(gql):
    owner = await sign_up(gql, "owner")
    member = await invite(owner, "edit@collab.example", displayName="Old", shares=ROOT_VIEWER)
    p = (await owner.gql(UPDATE, id=member["id"], input={"accountRole": "ADMIN"})).ok(
        "updateMember"
    )
    assert p["member"]["accountRole"] == "ADMIN"
    assert p["member"]["displayName"] == "Old"
    assert share_summary(p["member"]) == [("EnvironmentsRoot", [VIEWER])]
    p = (await owner.gql(UPDATE, id=member["id"], input={"displayName": None})).ok("updateMember")
    assert p["member"]["displayName"] is None


async def test_update_member_replaces_all_shares(gql):
    owner = await sign_up(gql, "owner")
    member = await invite(owner, "edit@collab.example", shares=ROOT_VIEWER)
    new = [{"root": True, "roleIds": [FULL_ACCESS, VIEWER]}]
    p = (await owner.gql(UPDATE, id=member["id"], input={"shares": new})).ok("updateMember")
    assert share_summary(p["member"]) == [("EnvironmentsRoot", sorted([FULL_ACCESS, VIEWER]))]
    cleared = (await owner.gql(UPDATE, id=member["id"], input={"shares": []})).ok("updateMember")
    assert cleared["member"]["shares"] == []
    assert await AuditEntry.filter(action="share.replace").count() == 2


async def test_refused_update_changes_nothing(gql):
    owner = await sign_up(gql, "owner")
    member = await invite(owner, "edit@collab.example", shares=ROOT_VIEWER)
    bad = {"accountRole": "ADMIN", "shares": [{"root": True, "roleIds": [str(uuid.uuid4())]}]}
    p = (await owner.gql(UPDATE, id=member["id"], input=bad)).payload("updateMember")
    assert [e["code"] for e in p["errors"]] == ["NOT_FOUND"]
    row = await Member.get(id=member["id"])
    assert row.account_role.value == "VIEWER"
    listed = (await owner.gql("{ members { shares { roles { id } } } }")).data["members"]
    assert listed == [{"shares": [{"roles": [{"id": VIEWER}]}]}]


async def test_copy_member_invites_another_email_with_the_same_role_and_shares(gql):
    owner = await sign_up(gql, "owner")
    source = await invite(owner, "src@collab.example", accountRole="ADMIN", shares=ROOT_VIEWER)
    p = (await owner.gql(COPY, id=source["id"], email="copy@collab.example", name="Copy")).ok(
        "copyMember"
    )
    copy = p["member"]
    assert copy["id"] != source["id"]
    assert (copy["email"], copy["status"], copy["accountRole"], copy["displayName"]) == (
        "copy@collab.example", "PENDING", "ADMIN", "Copy",
    )  # fmt: skip
    assert share_summary(copy) == share_summary(source)
    assert {s["id"] for s in copy["shares"]}.isdisjoint({s["id"] for s in source["shares"]})
    assert await invitation_token(copy["id"])  # the invitation email is queued


async def test_copy_member_to_an_email_with_an_open_record_conflicts(gql):
    owner = await sign_up(gql, "owner")
    source = await invite(owner, "src@collab.example")
    await invite(owner, "taken@collab.example")
    p = (await owner.gql(COPY, id=source["id"], email="taken@collab.example")).payload("copyMember")
    assert [e["code"] for e in p["errors"]] == ["CONFLICT"]
    assert await Member.all().count() == 2


async def test_reinvite_keeps_the_shares_and_sends_a_new_invitation(gql):
    owner = await sign_up(gql, "owner")
    invitee = await sign_up(gql, "ivy")
    mid = await active_member(owner, invitee, shares=ROOT_VIEWER)
    (await owner.gql(REMOVE, id=mid)).ok("removeMember")
    p = (await owner.gql(REINVITE, id=mid)).ok("reinviteMember")
    assert p["member"]["status"] == "PENDING"
    assert share_summary(p["member"]) == [("EnvironmentsRoot", [VIEWER])]
    reasons = [j.payload["reason"] for j in await OutboxJob.filter(job="invitation_email")]
    assert sorted(reasons) == ["invite", "reinvite"]


async def test_reinvite_refused_while_another_record_for_the_email_is_open(gql):
    owner = await sign_up(gql, "owner")
    first = await invite(owner, "twice@collab.example")
    (await owner.gql(REMOVE, id=first["id"])).ok("removeMember")
    await invite(owner, "twice@collab.example")
    p = (await owner.gql(REINVITE, id=first["id"])).payload("reinviteMember")
    assert [e["code"] for e in p["errors"]] == ["CONFLICT"]
    assert (await Member.get(id=first["id"])).status.value == "REMOVED"


async def test_members_filter_by_status(gql):
    owner = await sign_up(gql, "owner")
    invitee = await sign_up(gql, "ivy")
    active = await active_member(owner, invitee)
    pending = (await invite(owner, "p@collab.example"))["id"]
    removed = (await invite(owner, "r@collab.example"))["id"]
    (await owner.gql(REMOVE, id=removed)).ok("removeMember")
    everyone = (await owner.gql(MEMBERS_BY_STATUS)).data["members"]
    assert {m["id"] for m in everyone} == {active, pending, removed}
    only = (await owner.gql(MEMBERS_BY_STATUS, s=["ACTIVE", "PENDING"])).data["members"]
    assert {m["id"] for m in only} == {active, pending}


OWNER_ONLY = [
    f"mutation($id: ID!) {{ suspendMember(id: $id) {{ {ERRORS} }} }}",
    f"mutation($id: ID!) {{ activateMember(id: $id) {{ {ERRORS} }} }}",
    f"mutation($id: ID!) {{ removeMember(id: $id) {{ {ERRORS} }} }}",
    f"mutation($id: ID!) {{ reinviteMember(id: $id) {{ {ERRORS} }} }}",
    f"mutation($id: ID!) {{ resendInvitation(id: $id) {{ {ERRORS} }} }}",
    f'mutation($id: ID!) {{ copyMember(id: $id, email: "z@collab.example") {{ {ERRORS} }} }}',
    f"mutation($id: ID!) {{ updateMember(id: $id, input: {{accountRole: ADMIN}}) {{ {ERRORS} }} }}",
]


@pytest.mark.parametrize("mutation", OWNER_ONLY)
async def test_only_the_owner_manages_its_members(gql, mutation):
    owner = await sign_up(gql, "owner")
    other_owner = await sign_up(gql, "other")
    invitee = await sign_up(gql, "ivy")
    mid = await active_member(owner, invitee, shares=ROOT_VIEWER)
    before = await Member.get(id=mid)
    for intruder in (other_owner, invitee):  # another owner, and the member itself
        r = await intruder.gql(mutation, id=mid)
        errors = next(iter(r.data.values()))["errors"]
        assert [e["code"] for e in errors] == ["NOT_FOUND"]
    for guess in (str(uuid.uuid4()), "1", "not-an-id"):
        r = await owner.gql(mutation, id=guess)
        assert [e["code"] for e in next(iter(r.data.values()))["errors"]] == ["NOT_FOUND"]
    after = await Member.get(id=mid)
    assert (after.status, after.account_role, after.updated_at) == (
        before.status, before.account_role, before.updated_at,
    )  # fmt: skip
    assert await Member.all().count() == 1


async def test_other_owners_members_are_invisible(gql):
    owner = await sign_up(gql, "owner")
    other = await sign_up(gql, "other")
    await invite(owner, "mine@collab.example")
    assert (await other.gql("{ members { id } }")).data["members"] == []


async def test_members_query_needs_a_login(gql):
    r = await gql("{ members { id } }")
    assert r.codes() == ["UNAUTHENTICATED"]


async def test_unauthenticated_mutations_get_a_typed_error(gql):
    r = await gql(
        f'mutation {{ inviteMember(input: {{email: "a@collab.example"}}) {{ {ERRORS} }} }}'
    )
    assert [e["code"] for e in r.payload("inviteMember")["errors"]] == ["UNAUTHENTICATED"]
