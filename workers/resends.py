"""An operator's resend of an IN_DOUBT email: its stored message, handed over once more."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise.expressions import Q

from infra import metrics
from models import OutboxJob, SentEmail, SentEmailStatus
from workers.mailer import BatchReport, Email, PermanentMailError, send_stored

if TYPE_CHECKING:
    from workers.runner import JobEnv

S = SentEmailStatus


async def resend_email(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    key = str((row.payload or {}).get("key", ""))
    token = env.run.token if env.run else None
    # Taken over as SENDING under this job. A row this very job left SENDING (its worker
    # died mid-resend) is IN_DOUBT again with outbox_id = this job: never resent by itself.
    taken = await SentEmail.filter(
        Q(outbox_id__isnull=True) | ~Q(outbox_id=row.id), key=key, status=S.IN_DOUBT
    ).update(status=S.SENDING, claimed_by=token, outbox_id=row.id)
    email = await SentEmail.get_or_none(key=key)
    if not taken or email is None or not email.message:
        return None  # dismissed, resent already, or in doubt once more after a crash
    report = BatchReport()
    try:
        await send_stored(env.mailer, email.recipient, email.message)
    except PermanentMailError as exc:
        await _back_in_doubt(key)
        metrics.email_refused()
        report.refused.append((Email(key, email.recipient, email.subject, "", ""), str(exc)))
        return report
    except Exception:
        await _back_in_doubt(key)
        raise
    await SentEmail.filter(key=key, outbox_id=row.id).update(status=S.SENT, message=None)
    report.sent.append(Email(key, email.recipient, email.subject, "", ""))
    metrics.email_sent()
    return report


async def _back_in_doubt(key: str) -> None:
    """The resend did not go out: still in doubt, and a retry may try again."""
    await SentEmail.filter(key=key, status=S.SENDING).update(status=S.IN_DOUBT, outbox_id=None)
