"""Trial expiry: the cron that ends memberships of expired trials, and its emails."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.clock import utcnow
from domain.trials import end_trial_memberships
from domain.unit_of_work import AfterCommit, unit_of_work
from models import Account, AccountKind, Member, MemberStatus, OutboxJob
from workers import emails
from workers.mailer import BatchReport

if TYPE_CHECKING:
    from workers.runner import JobEnv

log = logging.getLogger(__name__)


async def expire_trials(ctx: dict[str, Any]) -> int:
    """Cron: ACTIVE memberships of trial accounts past `trialEndsAt` become TRIAL_EXPIRED.

    domain.trials writes the TRIAL_EXPIRED_EMAIL outbox rows in the same transaction; a
    membership already TRIAL_EXPIRED is not touched again, so a second run sends nothing.
    """
    after_commit: AfterCommit | None = ctx.get("after_commit")
    now = utcnow()
    account_ids = set(
        await Member.filter(
            status=MemberStatus.ACTIVE, account__kind=AccountKind.TRIAL,
            account__trial_ends_at__lte=now,
        ).values_list("account_id", flat=True)
    )  # fmt: skip
    changed = 0
    for account_id in account_ids:
        async with unit_of_work(after_commit):
            account = await Account.filter(id=account_id).select_for_update().first()
            if account is not None:
                changed += await end_trial_memberships(account, now)
    if changed:
        log.info("ended %d trial membership(s)", changed)
    return changed


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


async def send_trial_expired(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    payload = row.payload or {}
    member = await Member.get_or_none(id=payload.get("member_id"))
    if member is None or member.status is not MemberStatus.TRIAL_EXPIRED:
        return None  # upgraded or gone before we got to it: the news is stale
    account = await Account.get_or_none(id=member.account_id) if member.account_id else None
    owner = await Account.get(id=member.owner_id)
    ends_raw = str(payload.get("trial_ends_at", ""))
    ends = _parse(ends_raw)
    key = f"trial:{member.id}:{ends_raw}"
    to_member = account.email if account else member.email
    batch = [
        emails.trial_expired_member(key=f"{key}:member", to=to_member,
                                    owner_name=owner.display_name or owner.email, ends=ends),
        emails.trial_expired_owner(key=f"{key}:owner", to=owner.email,
                                   member_email=member.email, ends=ends),
    ]  # fmt: skip
    return await env.send_all(batch)
