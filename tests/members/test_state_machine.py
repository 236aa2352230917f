"""Every transition of the member state machine, allowed and refused, through the API.

The expected table is written out from CONTRACT.md's words, not derived from the code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.clock import utcnow
from models import AuditEntry, InvitationToken, Member, OutboxJob, Share
from tests.conftest import PLATFORM_TOKEN
from tests.utils.accounts import User, sign_up
from tests.utils.members import ERRORS, VIEWER, invite

OWNER_MUTATIONS = {
    "suspendMember": "suspendMember(id: $id)",
    "activateMember": "activateMember(id: $id)",
    "removeMember": "removeMember(id: $id)",
    "reinviteMember": "reinviteMember(id: $id)",
    "resendInvitation": "resendInvitation(id: $id)",
}
MEMBER_MUTATIONS = {
    "acceptInvitation": "acceptInvitation(id: $id)",
    "rejectInvitation": "rejectInvitation(id: $id)",
    "leaveCollaboration": "leaveCollaboration(memberId: $id)",
}


def document(name: str) -> str:
    call = {**OWNER_MUTATIONS, **MEMBER_MUTATIONS}[name]
    return f"mutation($id: ID!) {{ {call} {{ member {{ id status }} {ERRORS} }} }}"


# status before -> {mutation: status after}; anything missing must be INVALID_STATE.
ALLOWED: dict[str, dict[str, str]] = {
    "PENDING": {"removeMember": "REMOVED", "resendInvitation": "PENDING",
                "acceptInvitation": "ACTIVE", "rejectInvitation": "REJECTED"},
    "ACTIVE": {"suspendMember": "SUSPENDED", "removeMember": "REMOVED",
               "leaveCollaboration": "LEFT"},
    "SUSPENDED": {"activateMember": "ACTIVE", "removeMember": "REMOVED",
                  "leaveCollaboration": "LEFT"},
    "TRIAL_EXPIRED": {"removeMember": "REMOVED", "leaveCollaboration": "LEFT"},
    "REJECTED": {"removeMember": "REMOVED", "reinviteMember": "PENDING"},
    "EXPIRED": {"removeMember": "REMOVED", "reinviteMember": "PENDING"},
    "REMOVED": {"reinviteMember": "PENDING"},
    "LEFT": {"removeMember": "REMOVED", "reinviteMember": "PENDING"},
}  # fmt: skip


async def make_member(gql: Any, status: str) -> tuple[User, User, str]:
    owner = await sign_up(gql, "owner")
    invitee = await sign_up(gql, "invitee")
    member = await invite(owner, invitee.email, shares=[{"root": True, "roleIds": [VIEWER]}])
    mid = member["id"]

    async def run(user: User, name: str) -> None:
        r = await user.gql(document(name), id=mid)
        r.ok(name)

    if status in ("ACTIVE", "SUSPENDED", "TRIAL_EXPIRED", "LEFT"):
        await run(invitee, "acceptInvitation")
    if status == "SUSPENDED":
        await run(owner, "suspendMember")
    if status == "TRIAL_EXPIRED":
        platform = gql.as_(None)
        platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
        past = (utcnow() - timedelta(minutes=1)).isoformat()
        r = await platform(
            "mutation($id: ID!, $t: DateTime) { platformSetAccountKind(accountId: $id, kind: TRIAL,"
            " trialEndsAt: $t) { errors { code } } }", id=invitee.id, t=past,
        )  # fmt: skip
        r.ok("platformSetAccountKind")
    if status == "LEFT":
        await run(invitee, "leaveCollaboration")
    if status == "REJECTED":
        await run(invitee, "rejectInvitation")
    if status == "REMOVED":
        await run(owner, "removeMember")
    if status == "EXPIRED":
        # What the invitation-expiry cron does, without waiting a week.
        from domain import member_states
        from domain.member_states import Event

        row = await Member.get(id=mid)
        await row.save(update_fields=member_states.transition(row, Event.EXPIRE))
    assert (await Member.get(id=mid)).status.value == status
    return owner, invitee, mid


async def snapshot(mid: str) -> tuple[Any, ...]:
    m = await Member.get(id=mid)
    return (
        m.status, m.updated_at, m.account_id, m.accepted_at, m.invitation_expires_at,
        await Share.filter(member_id=mid).count(),
        await InvitationToken.filter(member_id=mid).count(),
        await AuditEntry.all().count(), await OutboxJob.all().count(),
    )  # fmt: skip


CASES = [(status, name) for status in ALLOWED for name in [*OWNER_MUTATIONS, *MEMBER_MUTATIONS]]


@pytest.mark.parametrize(("status", "mutation"), CASES)
async def test_transition(gql, status, mutation):
    owner, invitee, mid = await make_member(gql, status)
    actor = owner if mutation in OWNER_MUTATIONS else invitee
    before = await snapshot(mid)
    payload = (await actor.gql(document(mutation), id=mid)).payload(mutation)
    expected = ALLOWED[status].get(mutation)
    if expected is None:
        assert [e["code"] for e in payload["errors"]] == ["INVALID_STATE"], payload
        assert payload["member"] is None
        assert await snapshot(mid) == before, "a refused transition changed something"
    else:
        assert payload["errors"] == []
        assert payload["member"]["status"] == expected
        assert (await Member.get(id=mid)).status.value == expected
        entry = await AuditEntry.filter(target_id=mid).order_by("-at").first()
        assert entry is not None and entry.action.startswith("member.")
