"""Invitation emails, and the cron that expires invitations nobody answered."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from domain import audit, versions
from domain.clock import utcnow
from domain.member_states import Event, transition
from domain.tokens import token_hash
from domain.unit_of_work import AfterCommit, unit_of_work
from models import (
    Account,
    Environment,
    EnvironmentGroup,
    InvitationToken,
    Member,
    MemberStatus,
    OutboxJob,
    Role,
    Share,
    ShareRole,
    ShareTargetType,
)
from workers import emails
from workers.emails import SharedItem
from workers.mailer import BatchReport

if TYPE_CHECKING:
    from workers.runner import JobEnv

log = logging.getLogger(__name__)


async def shared_items(member: Member) -> list[SharedItem]:
    """The member's shares as the invitee reads them: target and role names."""
    shares = await Share.filter(member_id=member.id)
    links = await ShareRole.filter(share_id__in=[s.id for s in shares]).values(
        "share_id", "role_id"
    )
    role_names = dict(
        await Role.filter(id__in=list({link["role_id"] for link in links})).values_list(
            "id", "name"
        )
    )
    env_names = dict(
        await Environment.filter(
            id__in=[s.environment_id for s in shares if s.environment_id]
        ).values_list("id", "name")
    )
    group_names = dict(
        await EnvironmentGroup.filter(id__in=[s.group_id for s in shares if s.group_id])
        .values_list("id", "name")
    )  # fmt: skip
    items: list[SharedItem] = []
    for share in shares:
        roles = tuple(
            sorted(str(role_names.get(link["role_id"], "?")) for link in links
                   if link["share_id"] == share.id)
        )  # fmt: skip
        if share.target_type is ShareTargetType.ROOT:
            label = "all environments"
        elif share.target_type is ShareTargetType.GROUP:
            label = f"group {group_names.get(share.group_id, '(deleted)')}"
        else:
            label = f"environment {env_names.get(share.environment_id, '(deleted)')}"
        items.append(SharedItem(label, roles))
    return sorted(items, key=lambda i: i.label)


async def live_token(token: str) -> InvitationToken | None:
    row = await InvitationToken.get_or_none(token_hash=token_hash(token))
    if row is None or row.revoked_at or row.used_at or row.expires_at <= utcnow():
        return None
    return row


async def send_invitation(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    payload: dict[str, Any] = row.payload or {}
    token = payload.get("token")
    member = await Member.get_or_none(id=payload.get("member_id"))
    if member is None or not token or member.status is not MemberStatus.PENDING:
        return None  # answered, removed or already sent: nothing to say
    live = await live_token(str(token))
    if live is None:
        return None  # replaced by a re-send (that job carries the live link) or expired
    owner = await Account.get(id=member.owner_id)
    email = emails.invitation(
        key=f"invite:{row.id}", to=member.email, owner_name=owner.display_name,
        owner_email=owner.email, items=await shared_items(member),
        link=f"{env.settings.public_url}/invitations/{token}", expires_at=live.expires_at,
        reminder=payload.get("reason") == "resend",
    )  # fmt: skip
    return await env.send_all([email])


async def expire_invitations(ctx: dict[str, Any]) -> int:
    """Cron: PENDING members past their invitation's expiry become EXPIRED, links die."""
    after_commit: AfterCommit | None = ctx.get("after_commit")
    now = utcnow()
    due = await Member.filter(
        status=MemberStatus.PENDING, invitation_expires_at__lte=now
    ).values_list("id", flat=True)
    expired = 0
    for member_id in due:
        async with unit_of_work(after_commit):
            member = await Member.filter(id=member_id).select_for_update().first()
            if member is None or member.status is not MemberStatus.PENDING:
                continue
            if member.invitation_expires_at is None or member.invitation_expires_at > now:
                continue  # re-sent meanwhile
            versions.touch_email(member.email)
            fields = transition(member, Event.EXPIRE)
            await member.save(update_fields=fields)
            await InvitationToken.filter(member_id=member.id, used_at=None, revoked_at=None).update(
                revoked_at=now
            )
            await audit.record(
                owner_id=member.owner_id, actor_id=None, action="member.expire",
                target_type="Member", target_id=member.id,
            )  # fmt: skip
            expired += 1
    if expired:
        log.info("expired %d invitation(s)", expired)
    return expired
