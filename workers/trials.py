"""Trial expiry: the cron that ends memberships of expired trials, and its emails."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.clock import utcnow
from domain.jobs import trial_members
from domain.trials import expire_due_trials
from domain.unit_of_work import AfterCommit, unit_of_work
from models import Account, Member, MemberStatus, OutboxJob
from workers import emails
from workers.mailer import BatchReport

if TYPE_CHECKING:
    from workers.runner import JobEnv

log = logging.getLogger(__name__)


async def expire_trials(ctx: dict[str, Any]) -> int:
    """Cron: ACTIVE memberships of trial accounts past `trialEndsAt` become TRIAL_EXPIRED.

    One transaction, set-based (domain.trials.expire_due_trials), with the emails as
    TRIAL_EXPIRED_EMAIL outbox rows of up to TRIAL_EMAIL_BATCH members each.
    """
    after_commit: AfterCommit | None = ctx.get("after_commit")
    async with unit_of_work(after_commit):
        changed = await expire_due_trials(utcnow())
    if changed:
        log.info("ended %d trial membership(s)", changed)
    return changed


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


async def send_trial_expired(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    """The member and the owner of each membership in the job, over one connection."""
    items = trial_members(row.payload or {})
    ends_by_member = {i["member_id"]: i["trial_ends_at"] for i in items}
    members = await Member.filter(
        id__in=list(ends_by_member), status=MemberStatus.TRIAL_EXPIRED
    )  # upgraded or gone before we got to it: the news is stale, so not sent
    accounts = {
        a.id: a
        for a in await Account.filter(
            id__in=list({m.owner_id for m in members} | {m.account_id for m in members
                                                          if m.account_id})
        )
    }  # fmt: skip
    batch = []
    for member in sorted(members, key=lambda m: str(m.id)):
        owner = accounts[member.owner_id]
        account = accounts.get(member.account_id) if member.account_id else None
        ends_raw = ends_by_member[str(member.id)]
        ends = _parse(ends_raw)
        key = f"trial:{member.id}:{ends_raw}"
        batch += [
            emails.trial_expired_member(key=f"{key}:member",
                                        to=account.email if account else member.email,
                                        owner_name=owner.display_name or owner.email, ends=ends),
            emails.trial_expired_owner(key=f"{key}:owner", to=owner.email,
                                       member_email=member.email, ends=ends),
        ]  # fmt: skip
    return await env.send_all(batch) if batch else None
