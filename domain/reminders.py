"""Reminders: a pending invitation reminded once, a trial collaborator and its owners
warned once before the trial ends.

Each scan is set-based and runs in one unit of work: it locks what is due, marks it
claimed (`InvitationToken.reminded_at`, `Member.trial_warning_for`) and writes the outbox
rows that send it, all in one commit. A claimed row is no longer due, so overlapping cron
runs on any number of workers queue each reminder once (on PostgreSQL the second run
waits for the first's row locks and then finds the rows claimed; SQLite's write
transactions queue). The emails' keys are deterministic as well, so a retried job never
sends one twice.

When a reminder counts from: the invitation's current token, i.e. the last invite,
re-invite or re-send (a re-send revokes the old token and so restarts the clock). An
invitation already answered, expired or withdrawn is never reminded.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tortoise.expressions import Subquery

from domain import outbox
from domain.jobs import Job
from domain.tokens import token_hash
from models import AccountKind, InvitationToken, Member, MemberStatus

REMINDER_BATCH = 100  # reminders per outbox job: one SMTP connection each
CHUNK = 1000  # ids per IN (...) list: well under SQLite's parameter limit

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def _queue(
    job: Job, items: Sequence[tuple[uuid.UUID, T]],
    payload: Callable[[Sequence[T]], dict[str, Any]],
) -> None:  # fmt: skip
    """(owner id, item) pairs as jobs of up to REMINDER_BATCH items with one owner each,
    so an owner sees a failed one in failedDeliveries."""
    by_owner: dict[uuid.UUID, list[T]] = defaultdict(list)
    for owner_id, item in items:
        by_owner[owner_id].append(item)
    for owner_id in sorted(by_owner, key=str):
        for batch in _chunks(by_owner[owner_id], REMINDER_BATCH):
            await outbox.add(job, payload(batch), owner_id=owner_id)


async def queue_invitation_reminders(now: datetime, after_hours: int) -> int:
    """Every PENDING invitation whose current link was sent `after_hours` ago and still
    works gets one reminder. Must run inside a unit of work. The reminder carries a second
    live link to the same invitation (the raw token of the first is not kept); it expires
    with the invitation, and answering through either link retires both."""
    if after_hours <= 0:
        return 0
    pending = Subquery(Member.filter(status=MemberStatus.PENDING).values("id"))
    due = await InvitationToken.filter(
        member_id__in=pending, reminded_at=None, used_at=None, revoked_at=None,
        created_at__lte=now - timedelta(hours=after_hours), expires_at__gt=now,
    ).select_for_update()  # fmt: skip
    if not due:
        return 0
    for ids in _chunks([t.id for t in due]):
        await InvitationToken.filter(id__in=ids).update(reminded_at=now)
    owners = dict(await Member.filter(id__in=list({t.member_id for t in due})).values_list(
        "id", "owner_id"
    ))  # fmt: skip
    raw: dict[uuid.UUID, str] = {t.member_id: secrets.token_urlsafe(32) for t in due}
    await InvitationToken.bulk_create(
        [InvitationToken(id=uuid.uuid4(), member_id=t.member_id, created_at=now,
                         token_hash=token_hash(raw[t.member_id]),
                         expires_at=t.expires_at, reminded_at=now) for t in due],
        batch_size=CHUNK,
    )  # fmt: skip
    await _queue(
        Job.INVITATION_REMINDER_EMAIL,
        [(owners[t.member_id], t) for t in sorted(due, key=lambda t: str(t.member_id))],
        lambda batch: {
            "reminders": [{"member_id": str(t.member_id), "invitation": str(t.id)}
                          for t in batch],
            "tokens": {str(t.member_id): raw[t.member_id] for t in batch},  # wiped when sent
        },
    )  # fmt: skip
    return len(due)


async def queue_trial_warnings(now: datetime, days_before: int) -> int:
    """Every ACTIVE membership of a trial account ending within `days_before` days whose
    warning for that end was not queued yet. Must run inside a unit of work. A trial
    moved to a new end (billing) is warned about again once the new end comes near."""
    if days_before <= 0:
        return 0
    window = {"status": MemberStatus.ACTIVE, "account__kind": AccountKind.TRIAL,
              "account__trial_ends_at__gt": now,
              "account__trial_ends_at__lte": now + timedelta(days=days_before)}  # fmt: skip
    candidates = await Member.filter(**window).values_list(
        "id", "trial_warning_for", "account__trial_ends_at"
    )
    due_ids = [m for m, warned, ends in candidates if warned != ends]
    if not due_ids:
        return 0
    # Lock the due memberships, then read them again: a run that got there first has
    # claimed them meanwhile (PostgreSQL hands the locked rows over as they are now).
    locked: list[uuid.UUID] = []
    for ids in _chunks(due_ids):
        locked += [m.id for m in await Member.filter(id__in=ids).select_for_update()]
    rows: list[tuple[uuid.UUID, uuid.UUID, datetime]] = []
    for ids in _chunks(locked):
        rows += [
            (m, owner, ends)
            for m, owner, warned, ends in await Member.filter(id__in=ids, **window).values_list(
                "id", "owner_id", "trial_warning_for", "account__trial_ends_at"
            )
            if warned != ends
        ]
    by_end: dict[datetime, list[uuid.UUID]] = defaultdict(list)
    for member_id, _, ends in rows:
        by_end[ends].append(member_id)
    for ends, members in by_end.items():  # one statement per trial end (per account)
        for ids in _chunks(members):
            await Member.filter(id__in=ids).update(trial_warning_for=ends)
    await _queue(
        Job.TRIAL_WARNING_EMAIL,
        [(owner, (m, ends)) for m, owner, ends in sorted(rows, key=lambda r: str(r[0]))],
        lambda batch: {"members": [{"member_id": str(m), "trial_ends_at": ends.isoformat()}
                                   for m, ends in batch]},
    )  # fmt: skip
    return len(rows)
