"""`collab outbox`: what the workers have not done, and sending one job again.

Lists PENDING rows (waiting, or retrying after an error) and FAILED rows from the outbox
table, plus emails in doubt (domain.deliveries): handed to SMTP but never confirmed (a worker
died or was cancelled during the hand-off); `resend-email` queues one's stored message
again, `dismiss-email` records it as arrived. `retry` puts a row back in the queue: a FAILED
row becomes PENDING with fresh attempts, a PENDING row waiting out its back-off is due
at once; a worker's relay hands it to arq within a second.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import deliveries, versions
from domain.clock import utcnow
from domain.errors import DomainError
from domain.jobs import Job
from domain.unit_of_work import unit_of_work
from models import OutboxJob, OutboxStatus

LISTED = (OutboxStatus.PENDING, OutboxStatus.FAILED)


@dataclass(frozen=True)
class Row:
    id: str
    job: str
    status: str  # PENDING, RETRYING (pending after an error), FAILED, IN_DOUBT
    attempts: int
    created_at: datetime | None
    available_at: datetime | None
    owner_id: str | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "job": self.job, "status": self.status, "attempts": self.attempts,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "available_at": self.available_at.isoformat() if self.available_at else None,
            "owner_id": self.owner_id, "last_error": self.last_error,
        }  # fmt: skip


class RetryRefused(Exception):
    pass


async def in_doubt_emails(limit: int) -> list[Row]:
    """Emails whose fate is unknown, from the workers' delivery records."""
    found = await deliveries.list_in_doubt_emails(limit)
    return [
        Row(e.key, "email", "IN_DOUBT", 0, e.claimed_at, None, None,
            f"to {e.recipient}: {e.subject}" + (" (resend queued)" if e.resend_queued else ""))
        for e in found
    ]  # fmt: skip


async def listing(statuses: set[str], limit: int = 100) -> list[Row]:
    """Rows in these statuses ("pending", "failed", "in-doubt"), oldest first."""
    wanted = [s for s in LISTED if s.value.lower() in statuses]
    rows: list[Row] = []
    if wanted:
        found = await OutboxJob.filter(status__in=wanted).order_by("created_at").limit(limit)
        for r in found:
            status = r.status.value
            if r.status is OutboxStatus.PENDING and r.last_error:
                status = "RETRYING"
            rows.append(Row(str(r.id), r.job, status, r.attempts, r.created_at, r.available_at,
                            str(r.owner_id) if r.owner_id else None, r.last_error))  # fmt: skip
    if "in-doubt" in statuses:
        rows += await in_doubt_emails(limit)
    return rows


async def retry(row_id: str) -> str:
    """Puts one row back in the queue; says what happened. Raises RetryRefused."""
    try:
        key = uuid.UUID(row_id)
    except ValueError:
        raise RetryRefused(f"not an outbox id: {row_id!r}") from None
    row = await OutboxJob.get_or_none(id=key)
    if row is None:
        raise RetryRefused(f"no outbox job {row_id}")
    if row.status is OutboxStatus.DONE:
        raise RetryRefused(f"job {row_id} is done already; nothing to retry")
    if row.job == Job.INVITATION_EMAIL.value and not (row.payload or {}).get("token"):
        raise RetryRefused(
            "this invitation's link was wiped when the job finished; the owner sends a new "
            "one with resendInvitation"
        )
    now = utcnow()
    async with unit_of_work(None):  # the relay bumps the owner's cache version
        await OutboxJob.filter(id=key).update(
            status=OutboxStatus.PENDING, available_at=now, enqueued_at=None, finished_at=None,
            attempts=0 if row.status is OutboxStatus.FAILED else row.attempts,
        )  # fmt: skip
        if row.status is OutboxStatus.FAILED:
            versions.touch_owner(row.owner_id)  # it leaves the owner's failedDeliveries
    was = "failed" if row.status is OutboxStatus.FAILED else "pending"
    return f"job {row_id} ({row.job}, was {was}) is due now; a worker picks it up shortly"


async def resend_email(key: str) -> str:
    """Sends an in-doubt email again, as it was stored (the recipient may get it twice:
    the operator's call). Raises RetryRefused."""
    try:
        async with unit_of_work(None):  # no enqueue here: a worker's relay picks it up
            row = await deliveries.resend_in_doubt_email(key)
    except DomainError as exc:
        raise RetryRefused(exc.message) from None
    return f"email {key} queued to be sent again (outbox job {row.id})"


async def dismiss_email(key: str) -> str:
    """The operator knows the in-doubt email arrived: record it as sent."""
    try:
        await deliveries.dismiss_in_doubt_email(key)
    except DomainError as exc:
        raise RetryRefused(exc.message) from None
    return f"email {key} recorded as sent"
