"""Emails whose fate is unknown, for the people on call (`collab outbox`).

An email is IN_DOUBT when its worker died (or was cancelled) while handing it to SMTP:
the server may or may not have it, and SMTP gives no way to ask. The delivery design
keeps that to at most one email per crashed batch and never guesses: such an email is
neither resent on its own nor counted as sent. An operator lists them, and either
resends one (its stored message goes out again through the normal job path, so it is
retried and recorded like any other email) or dismisses it (it is known to have
arrived).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import outbox
from domain.errors import invalid_state, not_found
from domain.jobs import Job
from models import OutboxJob, OutboxStatus, SentEmail, SentEmailStatus


@dataclass(frozen=True)
class InDoubtEmail:
    key: str
    recipient: str
    subject: str
    claimed_at: datetime
    outbox_id: uuid.UUID | None  # the job whose run was handing it over
    resend_queued: bool  # an operator asked for a resend that has not run yet


async def list_in_doubt_emails(limit: int = 100) -> list[InDoubtEmail]:
    """In-doubt emails, oldest first, with whether a resend is already on its way."""
    rows = await SentEmail.filter(status=SentEmailStatus.IN_DOUBT).order_by("sent_at").limit(limit)
    payloads: list[Any] = await OutboxJob.filter(
        job=Job.RESEND_EMAIL.value, status=OutboxStatus.PENDING
    ).values_list("payload", flat=True)
    queued = {str((payload or {}).get("key")) for payload in payloads}
    return [
        InDoubtEmail(r.key, r.recipient, r.subject, r.sent_at, r.outbox_id, r.key in queued)
        for r in rows
    ]


async def resend_in_doubt_email(key: str) -> OutboxJob:
    """Queues the stored message of an IN_DOUBT email to be sent again, as it was.

    Call inside a unit of work (the job leaves after commit). The recipient may then
    receive it twice: that is the operator's call to make, not the worker's.
    """
    row = await SentEmail.filter(key=key).select_for_update().first()
    if row is None:
        raise not_found("Email", "key")
    if row.status is not SentEmailStatus.IN_DOUBT or not row.message:
        raise invalid_state(f"Email {key} is {row.status.value}, not IN_DOUBT")
    return await outbox.add(Job.RESEND_EMAIL, {"key": key})


async def dismiss_in_doubt_email(key: str) -> None:
    """The operator knows it arrived (the recipient said so): record it as SENT."""
    updated = await SentEmail.filter(key=key, status=SentEmailStatus.IN_DOUBT).update(
        status=SentEmailStatus.SENT, message=None
    )
    if not updated:
        if not await SentEmail.exists(key=key):
            raise not_found("Email", "key")
        raise invalid_state(f"Email {key} is not IN_DOUBT")
