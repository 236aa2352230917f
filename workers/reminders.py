"""Reminder crons and their emails: pending invitations, trials about to end.

The crons only queue (domain.reminders: one set-based transaction each, claimed so every
reminder is queued once); the jobs send, each email under a deterministic key so a retried
job sends nothing twice. A job that finds its news stale (the invitation answered or
re-sent, the trial upgraded, moved or over) sends nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.clock import utcnow
from domain.reminders import queue_invitation_reminders, queue_trial_warnings
from domain.unit_of_work import AfterCommit, unit_of_work
from infra.settings import Settings, get_settings
from models import Account, AccountKind, Member, MemberStatus, OutboxJob
from workers import emails
from workers.invitations import live_token, shared_items
from workers.mailer import BatchReport, Email

if TYPE_CHECKING:
    from workers.runner import JobEnv

log = logging.getLogger(__name__)


async def remind_invitations(ctx: dict[str, Any]) -> int:
    """Cron: one reminder per pending invitation INVITATION_REMINDER_HOURS after it was sent."""
    settings: Settings = ctx.get("settings") or get_settings()
    after_commit: AfterCommit | None = ctx.get("after_commit")
    async with unit_of_work(after_commit):
        queued = await queue_invitation_reminders(utcnow(), settings.INVITATION_REMINDER_HOURS)
    if queued:
        log.info("queued %d invitation reminder(s)", queued)
    return queued


async def warn_trials(ctx: dict[str, Any]) -> int:
    """Cron: one warning per trial membership TRIAL_WARNING_DAYS before the trial ends."""
    settings: Settings = ctx.get("settings") or get_settings()
    after_commit: AfterCommit | None = ctx.get("after_commit")
    async with unit_of_work(after_commit):
        queued = await queue_trial_warnings(utcnow(), settings.TRIAL_WARNING_DAYS)
    if queued:
        log.info("queued %d trial warning(s)", queued)
    return queued


async def send_invitation_reminders(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    """Each invitee once (`reminder:<member>:<invitation token>`), with the reminder's own
    link; nothing for an invitation answered, withdrawn or re-sent meanwhile (a re-send
    revokes the reminder's link too, and carries its own)."""
    payload = row.payload or {}
    tokens: dict[str, str] = payload.get("tokens") or {}
    invitation = {str(r.get("member_id")): str(r.get("invitation"))
                  for r in payload.get("reminders") or []}  # fmt: skip
    members = await Member.filter(id__in=list(invitation), status=MemberStatus.PENDING)
    owners = {a.id: a for a in await Account.filter(id__in=list({m.owner_id for m in members}))}
    batch: list[Email] = []
    for member in sorted(members, key=lambda m: str(m.id)):
        token = tokens.get(str(member.id))
        live = await live_token(token) if token else None
        if live is None:
            continue
        owner = owners[member.owner_id]
        batch.append(emails.invitation(
            key=f"reminder:{member.id}:{invitation[str(member.id)]}", to=member.email,
            owner_name=owner.display_name, owner_email=owner.email,
            items=await shared_items(member),
            link=f"{env.settings.public_url}/invitations/{token}", expires_at=live.expires_at,
            reminder=True,
        ))  # fmt: skip
    return await env.send_all(batch) if batch else None


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


async def send_trial_warnings(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    """The owner of each membership (`trial-warning:<member>:<end>:owner`) and the trial
    collaborator once per trial end (`trial-warning:<account>:<end>`), naming every owner
    it works with; nothing once the trial was upgraded, moved or is over."""
    now = utcnow()
    ends_by_member = {str(i.get("member_id")): _parse(i.get("trial_ends_at"))
                      for i in (row.payload or {}).get("members") or []}  # fmt: skip
    current = await Member.filter(
        id__in=list(ends_by_member), status=MemberStatus.ACTIVE,
        account__kind=AccountKind.TRIAL, account__trial_ends_at__gt=now,
    ).select_related("account")  # fmt: skip
    members = [m for m in current
               if m.account is not None and m.account.trial_ends_at == ends_by_member[str(m.id)]]  # fmt: skip
    if not members:
        return None
    account_ids = list({m.account_id for m in members})
    # Every owner each collaborator works with, for its one email (not just this job's).
    working = await Member.filter(account_id__in=account_ids, status=MemberStatus.ACTIVE)
    owners = {a.id: a for a in await Account.filter(id__in=list({m.owner_id for m in working}))}
    owners_of: dict[Any, list[str]] = defaultdict(list)
    for m in working:
        owner = owners[m.owner_id]
        owners_of[m.account_id].append(owner.display_name or owner.email)
    batch: list[Email] = []
    for member in sorted(members, key=lambda m: str(m.id)):
        account, owner = member.account, owners[member.owner_id]
        assert account is not None and account.trial_ends_at is not None
        ends = account.trial_ends_at
        stamp = ends.isoformat()
        batch += [
            emails.trial_warning_member(
                key=f"trial-warning:{account.id}:{stamp}", to=account.email,
                owner_names=sorted(owners_of[account.id]), ends=ends,
            ),
            emails.trial_warning_owner(
                key=f"trial-warning:{member.id}:{stamp}:owner", to=owner.email,
                member_email=member.email, ends=ends,
            ),
        ]  # fmt: skip
    return await env.send_all(batch)
