"""Invitations and their tokens: accepting, rejecting, signing up, and every refusal."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest

from domain.clock import utcnow
from models import Account, AccountKind, AuditEntry, InvitationToken, Member, OutboxJob
from tests.utils.accounts import PASSWORD, sign_up
from tests.utils.members import ACCEPT_BY_ID, ERRORS, VIEWER, invitation_token, invite

ACCEPT_BY_TOKEN = f"""
mutation($token: String) {{ acceptInvitation(token: $token) {{ member {{ id status }} {ERRORS} }} }}"""
REJECT_BY_TOKEN = f"""
mutation($token: String) {{ rejectInvitation(token: $token) {{ member {{ id status }} {ERRORS} }} }}"""
SIGN_UP_WITH_INVITATION = f"""
mutation($token: String!, $password: String!, $name: String) {{
  signUpWithInvitation(token: $token, password: $password, displayName: $name) {{
    token account {{ id email kind }} {ERRORS}
  }}
}}"""
INVITATIONS = "{ invitations { id email status expiresAt owner { displayName email } } }"
BY_TOKEN = """
query($token: String!) { invitationByToken(token: $token) { id email status owner { displayName } } }"""
RESEND = f"mutation($id: ID!) {{ resendInvitation(id: $id) {{ member {{ id status }} {ERRORS} }} }}"
MEMBERS = "{ members { id email status account { id } } }"
SHARED_WITH_ME_SECTIONS = "{ members(status: [ACTIVE]) { id } }"


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def test_invite_creates_a_pending_member_with_a_hashed_single_use_token(gql):
    owner = await sign_up(gql, "owner")
    member = await invite(owner, "New.Person@Collab.Example", displayName="Newbie")
    assert member["status"] == "PENDING"
    assert member["email"] == "new.person@collab.example"
    assert member["displayName"] == "Newbie"
    assert member["accountRole"] == "VIEWER"
    assert member["account"] is None
    token = await invitation_token(member["id"])
    assert len(token) >= 22  # at least 128 bits, url-safe
    stored = await InvitationToken.filter(member_id=member["id"]).values_list(
        "token_hash", flat=True
    )
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    listed = (await owner.gql(MEMBERS)).data["members"]
    assert [m["email"] for m in listed] == ["new.person@collab.example"]


@pytest.mark.parametrize("email", ["not-an-email", "x@", ""])
async def test_inviting_a_malformed_email_is_a_validation_error(gql, email):
    owner = await sign_up(gql, "owner")
    p = (await owner.gql("mutation($e: String!) { inviteMember(input: {email: $e}) { member { id } "
                         f"{ERRORS} }} }}", e=email)).payload("inviteMember")  # fmt: skip
    assert [(e["code"], e["field"]) for e in p["errors"]] == [("VALIDATION", "email")]
    assert await Member.all().count() == 0


async def test_inviting_yourself_is_refused(gql):
    owner = await sign_up(gql, "owner")
    p = (await owner.gql("mutation($e: String!) { inviteMember(input: {email: $e}) { "
                         f"{ERRORS} }} }}", e=owner.email.upper())).payload("inviteMember")  # fmt: skip
    assert [(e["code"], e["field"]) for e in p["errors"]] == [("VALIDATION", "email")]


async def test_one_open_member_per_email_and_a_new_one_after_removal(gql):
    owner = await sign_up(gql, "owner")
    first = await invite(owner, "dup@collab.example")
    again = await owner.gql("mutation { inviteMember(input: {email: \"DUP@collab.example\"}) { "
                            f"member {{ id }} {ERRORS} }} }}")  # fmt: skip
    assert codes(again.payload("inviteMember")) == ["CONFLICT"]
    await owner.gql(f'mutation {{ removeMember(id: "{first["id"]}") {{ {ERRORS} }} }}')
    second = await invite(owner, "dup@collab.example")
    assert second["id"] != first["id"]
    statuses = {m["id"]: m["status"] for m in (await owner.gql(MEMBERS)).data["members"]}
    assert statuses == {first["id"]: "REMOVED", second["id"]: "PENDING"}


async def test_invalid_share_input_writes_nothing(gql):
    owner = await sign_up(gql, "owner")
    jobs_before = await OutboxJob.all().count()  # the owner's verification email
    bad_shares = [
        [{"root": True, "roleIds": []}],
        [{"root": True, "groupId": str(uuid.uuid4()), "roleIds": [VIEWER]}],
        [{"root": True, "roleIds": [str(uuid.uuid4())]}],
        [{"environmentId": str(uuid.uuid4()), "roleIds": [VIEWER]}],
        [{"root": True, "roleIds": [VIEWER]}, {"root": True, "roleIds": [VIEWER]}],
        [{"root": True, "roleIds": [VIEWER], "expiresAt": "2000-01-01T00:00:00+00:00"}],
    ]
    for shares in bad_shares:
        r = await owner.gql("mutation($i: InviteMemberInput!) { inviteMember(input: $i) { "
                            f"member {{ id }} {ERRORS} }} }}",
                            i={"email": "x@collab.example", "shares": shares})  # fmt: skip
        p = r.payload("inviteMember")
        assert codes(p) and codes(p)[0] in ("VALIDATION", "NOT_FOUND"), (shares, p)
        assert p["errors"][0]["field"].startswith("shares[")
    assert await Member.all().count() == 0
    assert await OutboxJob.all().count() == jobs_before


async def test_invitee_lists_and_accepts_by_id(gql):
    owner = await sign_up(gql, "Olivia")
    invitee = await sign_up(gql, "ivy")
    member = await invite(owner, invitee.email)
    listed = (await invitee.gql(INVITATIONS)).data["invitations"]
    assert [(i["id"], i["status"], i["owner"]["email"]) for i in listed] == [
        (member["id"], "PENDING", owner.email)
    ]
    accepted = (await invitee.gql(ACCEPT_BY_ID, id=member["id"])).ok("acceptInvitation")
    assert accepted["member"]["status"] == "ACTIVE"
    row = await Member.get(id=member["id"])
    assert str(row.account_id) == invitee.id and row.accepted_at is not None
    assert (await invitee.gql(INVITATIONS)).data["invitations"] == []
    decision = await OutboxJob.filter(job="decision_email").values_list("payload", flat=True)
    # The job carries the id of the request that caused it (for its log lines).
    assert [{k: v for k, v in p.items() if k != "request_id"} for p in decision] == [
        {"member_id": member["id"], "decision": "accepted"}
    ]
    assert all(p["request_id"] for p in decision)
    assert await AuditEntry.filter(action="member.accept", actor_id=invitee.id).count() == 1


async def test_accept_by_token_then_the_token_is_spent(gql):
    owner = await sign_up(gql, "owner")
    invitee = await sign_up(gql, "ivy")
    member = await invite(owner, invitee.email)
    token = await invitation_token(member["id"])
    assert (await invitee.gql(ACCEPT_BY_TOKEN, token=token)).ok("acceptInvitation")
    again = (await invitee.gql(ACCEPT_BY_TOKEN, token=token)).payload("acceptInvitation")
    assert codes(again) == ["INVALID_TOKEN"]


async def test_a_token_for_another_email_is_invalid(gql):
    owner = await sign_up(gql, "owner")
    invitee = await sign_up(gql, "ivy")
    intruder = await sign_up(gql, "mallory")
    member = await invite(owner, invitee.email)
    token = await invitation_token(member["id"])
    p = (await intruder.gql(ACCEPT_BY_TOKEN, token=token)).payload("acceptInvitation")
    assert codes(p) == ["INVALID_TOKEN"]
    assert (await Member.get(id=member["id"])).status.value == "PENDING"
    # By id the intruder cannot even see the invitation.
    p = (await intruder.gql(ACCEPT_BY_ID, id=member["id"])).payload("acceptInvitation")
    assert codes(p) == ["NOT_FOUND"]


async def test_an_expired_token_says_so_before_anything_else(gql):
    owner = await sign_up(gql, "owner")
    member = await invite(owner, "late@collab.example")
    token = await invitation_token(member["id"])
    await InvitationToken.filter(member_id=member["id"]).update(
        expires_at=utcnow() - timedelta(seconds=1)
    )
    stranger = await sign_up(gql, "stranger")  # another email: still TOKEN_EXPIRED first
    assert codes(
        (await stranger.gql(ACCEPT_BY_TOKEN, token=token)).payload("acceptInvitation")
    ) == ["TOKEN_EXPIRED"]
    r = await gql(BY_TOKEN, token=token)
    assert r.data["invitationByToken"] is None and r.codes() == ["TOKEN_EXPIRED"]


async def test_resend_replaces_the_token(gql):
    owner = await sign_up(gql, "owner")
    invitee = await sign_up(gql, "ivy")
    member = await invite(owner, invitee.email)
    old = await invitation_token(member["id"])
    (await owner.gql(RESEND, id=member["id"])).ok("resendInvitation")
    new = await invitation_token(member["id"])
    assert new != old
    assert codes((await invitee.gql(ACCEPT_BY_TOKEN, token=old)).payload("acceptInvitation")) == [
        "INVALID_TOKEN"
    ]
    assert (await invitee.gql(ACCEPT_BY_TOKEN, token=new)).ok("acceptInvitation")


async def test_invitation_by_token_needs_no_login(gql):
    owner = await sign_up(gql, "Olivia Owner")
    member = await invite(owner, "guest@collab.example")
    token = await invitation_token(member["id"])
    r = await gql(BY_TOKEN, token=token)
    assert r.data["invitationByToken"] == {
        "id": member["id"], "email": "guest@collab.example", "status": "PENDING",
        "owner": {"displayName": "Olivia Owner"},
    }  # fmt: skip
    unknown = await gql(BY_TOKEN, token="made-up")
    assert unknown.data["invitationByToken"] is None and unknown.codes() == ["INVALID_TOKEN"]


async def test_reject_by_token_without_a_login(gql):
    owner = await sign_up(gql, "owner")
    member = await invite(owner, "nope@collab.example")
    token = await invitation_token(member["id"])
    p = (await gql(REJECT_BY_TOKEN, token=token)).ok("rejectInvitation")
    assert p["member"]["status"] == "REJECTED"
    decision = await OutboxJob.filter(job="decision_email").values_list("payload", flat=True)
    # The job carries the id of the request that caused it (for its log lines).
    assert [{k: v for k, v in p.items() if k != "request_id"} for p in decision] == [
        {"member_id": member["id"], "decision": "rejected"}
    ]
    assert all(p["request_id"] for p in decision)


async def test_accepting_by_token_needs_a_login(gql):
    owner = await sign_up(gql, "owner")
    member = await invite(owner, "who@collab.example")
    token = await invitation_token(member["id"])
    assert codes((await gql(ACCEPT_BY_TOKEN, token=token)).payload("acceptInvitation")) == [
        "UNAUTHENTICATED"
    ]


async def test_sign_up_with_invitation_creates_a_collaborator_and_accepts(gql):
    owner = await sign_up(gql, "owner")
    member = await invite(owner, "Fresh@Collab.Example")
    token = await invitation_token(member["id"])
    p = (await gql(SIGN_UP_WITH_INVITATION, token=token, password=PASSWORD, name="Fresh")).ok(
        "signUpWithInvitation"
    )
    assert p["account"]["email"] == "fresh@collab.example"
    assert p["account"]["kind"] == "COLLABORATOR"
    me = (await gql.as_(p["token"])("{ me { email kind trialEndsAt } }")).data["me"]
    assert me == {"email": "fresh@collab.example", "kind": "COLLABORATOR", "trialEndsAt": None}
    assert (await Member.get(id=member["id"])).status.value == "ACTIVE"


async def test_sign_up_with_invitation_for_an_existing_account_conflicts(gql):
    owner = await sign_up(gql, "owner")
    existing = await sign_up(gql, "existing")
    member = await invite(owner, existing.email)
    token = await invitation_token(member["id"])
    p = (await gql(SIGN_UP_WITH_INVITATION, token=token, password="another-password")).payload(
        "signUpWithInvitation"
    )
    assert codes(p) == ["CONFLICT"] and p["token"] is None
    account = await Account.get(id=existing.id)
    assert account.kind is AccountKind.TRIAL  # untouched: no takeover
    assert (await Member.get(id=member["id"])).status.value == "PENDING"


async def test_sign_up_with_invitation_checks_the_token_first(gql):
    p = (await gql(SIGN_UP_WITH_INVITATION, token="forged", password="x")).payload(
        "signUpWithInvitation"
    )
    assert codes(p) == ["INVALID_TOKEN"]
    assert await Account.all().count() == 0


async def test_repeated_token_guesses_are_rate_limited(gql):
    results = []
    for i in range(32):
        p = (await gql(REJECT_BY_TOKEN, token=f"guess-{i}")).payload("rejectInvitation")
        results.append(codes(p)[0])
    assert results[0] == "INVALID_TOKEN"
    assert results[-1] == "RATE_LIMITED"


async def test_sign_up_with_invitation_by_a_logged_in_stranger_is_an_invalid_token(gql):
    owner = await sign_up(gql, "owner")
    stranger = await sign_up(gql, "stranger")
    member = await invite(owner, "fresh@collab.example")
    token = await invitation_token(member["id"])
    p = (await stranger.gql(SIGN_UP_WITH_INVITATION, token=token, password=PASSWORD)).payload(
        "signUpWithInvitation"
    )
    assert codes(p) == ["INVALID_TOKEN"]
    assert not await Account.exists(email="fresh@collab.example")
    assert (await Member.get(id=member["id"])).status.value == "PENDING"
