"""Trial accounts lose shared access when their trial ends, and regain it on upgrade."""

from __future__ import annotations

import uuid
from datetime import datetime

from domain import audit, member_states, outbox, versions
from domain.accounts import trial_expired
from domain.clock import utcnow
from domain.errors import validation
from domain.jobs import Job
from domain.member_states import Event
from models import Account, AccountKind, Member, MemberStatus


async def end_trial_memberships(account: Account, now: datetime | None = None) -> int:
    """ACTIVE memberships of an expired trial account become TRIAL_EXPIRED (emailed once)."""
    if not trial_expired(account, now):
        return 0
    changed = 0
    members = await Member.filter(account_id=account.id, status=MemberStatus.ACTIVE)
    for member in members:
        fields = member_states.transition(member, Event.TRIAL_END)
        await member.save(update_fields=fields)
        await audit.record(
            owner_id=member.owner_id, actor_id=None, action="member.trial_expired",
            target_type="Member", target_id=member.id,
        )  # fmt: skip
        await outbox.add(
            Job.TRIAL_EXPIRED_EMAIL,
            {"member_id": str(member.id), "trial_ends_at": account.trial_ends_at.isoformat()},  # type: ignore[union-attr]
            owner_id=member.owner_id,
        )
        outbox.notify([account.id], "member.trial_expired", member.owner_id)
        changed += 1
    return changed


async def restore_memberships(account: Account) -> int:
    if account.kind is AccountKind.TRIAL and trial_expired(account):
        return 0
    changed = 0
    for member in await Member.filter(account_id=account.id, status=MemberStatus.TRIAL_EXPIRED):
        fields = member_states.transition(member, Event.TRIAL_RESTORE)
        await member.save(update_fields=fields)
        await audit.record(
            owner_id=member.owner_id, actor_id=None, action="member.trial_restored",
            target_type="Member", target_id=member.id,
        )  # fmt: skip
        await outbox.add(Job.SHARE_NOTIFICATIONS, {"member_id": str(member.id)},
                         owner_id=member.owner_id)  # fmt: skip
        outbox.notify([account.id], "member.trial_restored", member.owner_id)
        changed += 1
    return changed


async def set_account_kind(
    account_id: uuid.UUID, kind: AccountKind, trial_ends_at: datetime | None
) -> Account:
    """For billing. Must run inside a unit of work; a past `trial_ends_at` ends it at once."""
    account = await Account.filter(id=account_id).select_for_update().first()
    if account is None:
        from domain.errors import not_found

        raise not_found("Account", "accountId")
    if kind is AccountKind.TRIAL and trial_ends_at is None and account.trial_ends_at is None:
        raise validation("A trial needs trialEndsAt", "trialEndsAt")
    if trial_ends_at is not None and trial_ends_at.tzinfo is None:
        raise validation("trialEndsAt needs a time zone", "trialEndsAt")
    account.kind = kind
    account.trial_ends_at = (
        (trial_ends_at or account.trial_ends_at) if kind is AccountKind.TRIAL else None
    )
    await account.save(update_fields=["kind", "trial_ends_at", "updated_at"])
    owners: list[uuid.UUID] = await Member.filter(account_id=account.id).values_list(
        "owner_id", flat=True
    )  # type: ignore[assignment]
    versions.touch_account(account.id)
    versions.touch_owner(account.id, *owners)
    if trial_expired(account, utcnow()):
        await end_trial_memberships(account)
    else:
        await restore_memberships(account)
    return account
