"""Inviting and accepting through the public API, as an owner and an invitee would."""

from __future__ import annotations

from typing import Any

from models import OutboxJob
from tests.utils.accounts import User

MEMBER_FIELDS = """
  id email displayName accountRole status invitedAt acceptedAt expiresAt account { id }
  shares { id expiresAt roles { id name }
    target { __typename ... on Environment { id } ... on EnvironmentGroup { id }
             ... on EnvironmentsRoot { owner { id } } } }
"""
ERRORS = "errors { code message field }"

INVITE = f"""
mutation($input: InviteMemberInput!) {{
  inviteMember(input: $input) {{ member {{ {MEMBER_FIELDS} }} {ERRORS} }}
}}"""
ACCEPT_BY_ID = f"""
mutation($id: ID) {{ acceptInvitation(id: $id) {{ member {{ id status }} {ERRORS} }} }}"""

FULL_ACCESS = "d2141803-e1c0-4e94-ae65-e2abdc90c063"
LIMITED_ACCESS = "0fd00367-672b-495f-8c41-6163aace2ae1"
VIEWER = "51bbb782-5152-4b9b-8bfc-7b8d280c922d"
CREATOR = "a7cc6748-a83d-4db3-bd78-84b104e4e702"


async def invitation_token(member_id: str) -> str:
    """The raw token of the member's newest invitation, as the invitation email carries it."""
    rows = await OutboxJob.filter(job="invitation_email").order_by("-created_at")
    job = next(r for r in rows if r.payload.get("member_id") == member_id)
    return str(job.payload["token"])


async def invite(
    owner: User, email: str, *, shares: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    r = await owner.gql(INVITE, input={"email": email, "shares": shares or [], **fields})
    return r.ok("inviteMember")["member"]


async def active_member(
    owner: User, invitee: User, *, shares: list[dict[str, Any]] | None = None, **fields: Any
) -> str:
    """Invites `invitee` with these shares and accepts as the invitee: the member id."""
    member = await invite(owner, invitee.email, shares=shares, **fields)
    r = await invitee.gql(ACCEPT_BY_ID, id=member["id"])
    assert r.ok("acceptInvitation")["member"]["status"] == "ACTIVE"
    return str(member["id"])
