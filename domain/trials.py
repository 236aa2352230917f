"""Trial accounts lose shared access when their trial ends, and regain it on upgrade."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from domain import audit, member_states, outbox, versions
from domain.accounts import trial_expired
from domain.clock import utcnow
from domain.errors import validation
from domain.jobs import Job, TrialMember, TrialMembersPayload
from domain.member_states import Event
from models import Account, AccountKind, AuditEntry, AuditOutcome, Member, MemberStatus

TRIAL_EMAIL_BATCH = 100  # members per TRIAL_EXPIRED_EMAIL job: one SMTP connection each
CHUNK = 1000  # ids per IN (...) list: well under SQLite's parameter limit


async def end_trial_memberships(account: Account, now: datetime | None = None) -> int:
    """ACTIVE memberships of an expired trial account become TRIAL_EXPIRED (emailed once)."""
    if not trial_expired(account, now):
        return 0
    due = await Member.filter(account_id=account.id, status=MemberStatus.ACTIVE).values_list(
        "id", "owner_id", "account_id"
    )
    return await _end_memberships(
        [(m, o, a, account.trial_ends_at) for m, o, a in due], now or utcnow()
    )


async def expire_due_trials(now: datetime) -> int:
    """Every ACTIVE membership of a trial account past `trialEndsAt` becomes TRIAL_EXPIRED,
    set-based: a fixed number of statements whatever the count (10,000 in about a second).
    Must run inside a unit of work; a membership already TRIAL_EXPIRED is not touched,
    so a second run changes and sends nothing."""
    due = await Member.filter(
        status=MemberStatus.ACTIVE, account__kind=AccountKind.TRIAL,
        account__trial_ends_at__lte=now,
    ).values_list("id", "owner_id", "account_id", "account__trial_ends_at")  # fmt: skip
    return await _end_memberships(list(due), now)


async def _end_memberships(rows: list[tuple[Any, Any, Any, Any]], now: datetime) -> int:
    """(member id, owner id, account id, trial end) -> TRIAL_EXPIRED, audited, emailed.

    The member state machine's table says which statuses may end and what they become;
    the UPDATE re-checks the source status, so a membership changed meanwhile is left
    alone (and its email, checked again when sent, says nothing).
    """
    sources, target = member_states.TRANSITIONS[Event.TRIAL_END]
    assert target in member_states.OPEN, "open_slot stays the email: no slot update needed"
    if not rows:
        return 0
    ids = [row[0] for row in rows]
    for i in range(0, len(ids), CHUNK):
        await Member.filter(id__in=ids[i : i + CHUNK], status__in=list(sources)).update(
            status=target, updated_at=now
        )
    changed = set()
    for i in range(0, len(ids), CHUNK):
        changed.update(
            await Member.filter(id__in=ids[i : i + CHUNK], status=target).values_list(
                "id", flat=True
            )
        )
    rows = sorted((r for r in rows if r[0] in changed), key=lambda r: (str(r[1]), str(r[0])))
    await AuditEntry.bulk_create(
        [AuditEntry(id=uuid.uuid4(), at=now, owner_id=owner_id, actor_id=None,
                    action="member.trial_expired", outcome=AuditOutcome.ALLOWED,
                    target_type="Member", target_id=str(member_id), detail={})
         for member_id, owner_id, _, _ in rows],
        batch_size=CHUNK,
    )  # fmt: skip
    for _owner, group in itertools.groupby(rows, key=lambda r: r[1]):
        members = list(group)
        for i in range(0, len(members), TRIAL_EMAIL_BATCH):
            batch = members[i : i + TRIAL_EMAIL_BATCH]
            await outbox.add(
                Job.TRIAL_EXPIRED_EMAIL,
                TrialMembersPayload(members=[
                    TrialMember(member_id=str(m), trial_ends_at=ends.isoformat())
                    for m, _, _, ends in batch]),
                owner_id=_owner,
            )  # fmt: skip
        outbox.notify([m[2] for m in members], "member.trial_expired", _owner)
    return len(rows)


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
