"""`run_outbox_job`: runs one outbox row through its job family, with retries.

The outbox row is the source of truth, not the arq job: arq only says "look at row X".
So a row runs to DONE once however often it is enqueued (gateway after commit, relay,
arq retry), a transient failure is retried with back-off, and after `max_attempts` (or a
permanent SMTP refusal) the row becomes FAILED with `last_error`, which the owner sees in
`failedDeliveries`. Secrets in the payload (the invitation token) are wiped when the row
is finished either way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from arq import Retry

from collab import logs, metrics
from collab.settings import Settings
from domain.clock import utcnow
from domain.jobs import Job
from models import OutboxJob, OutboxStatus
from workers import alerts, decisions, invitations, shares, trials
from workers.mailer import BatchReport, Mailer, TransientMailError

log = logging.getLogger(__name__)

SECRET_FIELDS = frozenset({"token"})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_base: float = 2.0  # seconds before the 2nd try; doubles each time
    backoff_max: float = 600.0
    lease: float = 300.0  # a started row is not re-enqueued by the relay for this long

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** max(0, attempt - 1))


@dataclass
class JobEnv:
    """What a job family needs: settings and the mailer (no GraphQL, no HTTP)."""

    settings: Settings
    mailer: Mailer


Handler = Callable[[OutboxJob, JobEnv], Awaitable[BatchReport | None]]

HANDLERS: dict[Job, Handler] = {
    Job.INVITATION_EMAIL: invitations.send_invitation,
    Job.DECISION_EMAIL: decisions.send_decision,
    Job.SHARE_NOTIFICATIONS: shares.send_share_notices,
    Job.TRIAL_EXPIRED_EMAIL: trials.send_trial_expired,
    Job.ALERT_FANOUT: alerts.send_alerts,
}


class PermanentJobError(Exception):
    """Retrying cannot help (unknown job name, every recipient refused for good)."""


def _public_payload(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in SECRET_FIELDS}


async def _finish(row: OutboxJob, status: OutboxStatus, error: str | None) -> None:
    await OutboxJob.filter(id=row.id).update(
        status=status, finished_at=utcnow(), last_error=error,
        payload=_public_payload(row.payload or {}),
    )  # fmt: skip
    metrics.job_finished(row.job, status.value.lower())


async def run_outbox_job(ctx: dict[str, Any], outbox_id: str) -> str:
    """arq entry point. Returns the row's final state, for logs."""
    env: JobEnv = ctx["env"]
    policy: RetryPolicy = ctx["retry_policy"]
    try:
        row_id = uuid.UUID(outbox_id)
    except ValueError:
        return "unknown"
    row = await OutboxJob.get_or_none(id=row_id)
    if row is None or row.status is not OutboxStatus.PENDING:
        return "skipped"
    # This job's log lines carry the id of the request that caused it (collab.logs).
    logs.set_request_id((row.payload or {}).get("request_id"))
    attempt = row.attempts + 1
    await OutboxJob.filter(id=row.id).update(
        attempts=attempt, available_at=utcnow() + timedelta(seconds=policy.lease)
    )
    try:
        try:
            handler = HANDLERS[Job(row.job)]
        except ValueError:
            raise PermanentJobError(f"unknown job {row.job!r}") from None
        report = await handler(row, env)
    except PermanentJobError as exc:
        await _finish(row, OutboxStatus.FAILED, str(exc))
        return "failed"
    except Exception as exc:  # transient SMTP trouble, or anything unexpected
        error = str(exc) if isinstance(exc, TransientMailError) else repr(exc)
        if not isinstance(exc, TransientMailError):
            log.exception("outbox job %s (%s) raised", row.id, row.job)
        if attempt >= policy.max_attempts:
            await _finish(row, OutboxStatus.FAILED, f"gave up after {attempt} attempts: {error}")
            return "failed"
        delay = policy.backoff(attempt)
        await OutboxJob.filter(id=row.id).update(
            last_error=error, available_at=utcnow() + timedelta(seconds=delay)
        )
        metrics.job_finished(row.job, "retried")
        raise Retry(defer=delay) from exc
    if report is not None and report.refused:
        refused = "; ".join(f"{email.to}: {why}" for email, why in report.refused)
        await _finish(row, OutboxStatus.FAILED, f"refused by the mail server: {refused}")
        return "failed"
    await _finish(row, OutboxStatus.DONE, None)
    return "done"
