"""`run_outbox_job`: runs one outbox row through its job family, with retries.

The outbox row is the source of truth, not the arq job: arq only says "look at row X".
So a row runs to DONE once however often it is enqueued (gateway after commit, relay,
arq retry), a transient failure is retried with back-off, and after `max_attempts` (or a
permanent SMTP refusal) the row becomes FAILED with `last_error`, which the owner sees in
`failedDeliveries` (a change of the owner's, so it bumps the owner's cache version: a cached
`failedDeliveries` is not served after it). Secrets in the payload (the invitation token) are wiped when the row
is finished either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from arq import Retry
from tortoise.expressions import F

from domain import versions
from domain.clock import utcnow
from domain.jobs import Job
from domain.unit_of_work import AfterCommit, unit_of_work
from infra import logs, metrics, retries
from infra.settings import Settings
from models import OutboxJob, OutboxStatus
from workers import (
    accounts,
    alerts,
    decisions,
    invitations,
    platform,
    reminders,
    resends,
    shares,
    trials,
)
from workers.mailer import (
    BatchReport,
    Email,
    HandBack,
    Mailer,
    Run,
    TransientMailError,
    release_previous_runs,
)

log = logging.getLogger(__name__)

SECRET_FIELDS = frozenset({"token", "tokens"})  # "tokens": reminder batches


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_base: float = retries.JOB.base  # seconds before the 2nd try; doubles each time
    backoff_max: float = retries.JOB.cap

    def backoff(self, attempt: int) -> float:
        return retries.Backoff(self.backoff_base, self.backoff_max).delay(max(1, attempt))


@dataclass
class JobEnv:
    """What a job family needs: settings and the mailer (no GraphQL, no HTTP), and the
    run its emails belong to."""

    settings: Settings
    mailer: Mailer
    run: Run | None = None
    after_commit: AfterCommit | None = None  # commits of jobs (platform; a FAILED delivery's bump)

    async def send_all(self, emails: Sequence[Email]) -> BatchReport:
        return await self.mailer.send_all(emails, self.run)


@dataclass
class Leases:
    """The outbox rows this worker is running, renewed while it lives.

    A run holds its row with `available_at` as the lease's end and `lease_owner` as its
    token. A worker that dies stops renewing, so after WORKER_LEASE_SECONDS the relay of
    any other worker hands the row to arq again (under a new arq job id, since arq still
    thinks the dead worker's job is in progress), and a new run takes it over.
    """

    seconds: float
    held: dict[uuid.UUID, str] = field(default_factory=dict)

    async def renew(self) -> None:
        if self.held:
            await OutboxJob.filter(
                id__in=list(self.held), lease_owner__in=list(self.held.values()),
                status=OutboxStatus.PENDING,
            ).update(available_at=utcnow() + timedelta(seconds=self.seconds))  # fmt: skip

    async def renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database away: the next tick tries again
                log.warning("lease renewal: %s: %s", type(exc).__name__, exc)


Handler = Callable[[OutboxJob, JobEnv], Awaitable[BatchReport | None]]

HANDLERS: dict[Job, Handler] = {
    Job.INVITATION_EMAIL: invitations.send_invitation,
    Job.DECISION_EMAIL: decisions.send_decision,
    Job.SHARE_NOTIFICATIONS: shares.send_share_notices,
    Job.TRIAL_EXPIRED_EMAIL: trials.send_trial_expired,
    Job.ALERT_FANOUT: alerts.send_alerts,
    Job.PASSWORD_RESET_EMAIL: accounts.send_password_reset,
    Job.EMAIL_VERIFICATION_EMAIL: accounts.send_email_verification,
    Job.MEMBER_STATUS_EMAIL: decisions.send_member_status,
    Job.RESEND_EMAIL: resends.resend_email,
    Job.INVITATION_REMINDER_EMAIL: reminders.send_invitation_reminders,
    Job.TRIAL_WARNING_EMAIL: reminders.send_trial_warnings,
    Job.PLATFORM_OPERATION: platform.run_operation,
    Job.PLATFORM_SYNC: platform.sync_inventory,
}


class PermanentJobError(Exception):
    """Retrying cannot help (unknown job name, every recipient refused for good)."""


def _public_payload(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in SECRET_FIELDS}


async def _finish(
    row: OutboxJob, status: OutboxStatus, error: str | None, env: JobEnv | None = None
) -> None:
    now = utcnow()

    async def finished() -> None:
        await OutboxJob.filter(id=row.id).update(
            status=status, finished_at=now, available_at=now, last_error=error,
            lease_owner=None, payload=_public_payload(row.payload or {}),
        )  # fmt: skip

    if status is OutboxStatus.FAILED:
        async with unit_of_work(env.after_commit if env else None):
            await finished()
            versions.touch_owner(row.owner_id)  # the owner's failedDeliveries changed
    else:
        await finished()
    metrics.job_finished(row.job, status.value.lower())


async def _acquire(row_id: uuid.UUID, token: str, lease: float) -> OutboxJob | None:
    """Takes the row if it is PENDING and due (never run, retry due, or its holder's
    lease ran out): one statement, so two workers never both get it."""
    now = utcnow()
    taken = await OutboxJob.filter(
        id=row_id, status=OutboxStatus.PENDING, available_at__lte=now
    ).update(attempts=F("attempts") + 1, lease_owner=token,
             available_at=now + timedelta(seconds=lease))  # fmt: skip
    return await OutboxJob.get_or_none(id=row_id, lease_owner=token) if taken else None


async def run_outbox_job(ctx: dict[str, Any], outbox_id: str) -> str:
    """arq entry point. Returns the row's final state, for logs."""
    base: JobEnv = ctx["env"]
    policy: RetryPolicy = ctx["retry_policy"]
    leases: Leases = ctx["leases"]
    try:
        row_id = uuid.UUID(outbox_id.split(":")[0])
    except ValueError:
        return "unknown"
    token = uuid.uuid4().hex
    row = await _acquire(row_id, token, leases.seconds)
    if row is None:
        return "skipped"
    leases.held[row.id] = token
    # This job's log lines carry the id of the request that caused it (infra.logs).
    logs.set_request_id((row.payload or {}).get("request_id"))
    try:
        return await _run(row, replace(base, run=Run(row.id, token, ctx.get("stopping"))), policy)
    finally:
        leases.held.pop(row.id, None)


async def _run(row: OutboxJob, env: JobEnv, policy: RetryPolicy) -> str:
    attempt = row.attempts
    token = env.run.token if env.run else ""
    try:
        await release_previous_runs(row.id, token)
        try:
            handler = HANDLERS[Job(row.job)]
        except ValueError:
            raise PermanentJobError(f"unknown job {row.job!r}") from None
        report = await handler(row, env)
    except PermanentJobError as exc:
        await _finish(row, OutboxStatus.FAILED, str(exc), env)
        return "failed"
    except HandBack:
        # Not a failed attempt: the row is due again at once, for another worker.
        await OutboxJob.filter(id=row.id, lease_owner=token).update(
            available_at=utcnow(), lease_owner=None, attempts=F("attempts") - 1
        )
        log.info("outbox job %s (%s) handed back: the worker is stopping", row.id, row.job)
        raise Retry(defer=0) from None
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):  # the shutdown grace ran out: due again now
            await OutboxJob.filter(id=row.id, lease_owner=token).update(
                available_at=utcnow(), lease_owner=None
            )
        raise
    except Exception as exc:  # transient SMTP trouble, or anything unexpected
        error = str(exc) if isinstance(exc, TransientMailError) else repr(exc)
        if not isinstance(exc, TransientMailError):
            log.exception("outbox job %s (%s) raised", row.id, row.job)
        if attempt >= policy.max_attempts:
            await _finish(row, OutboxStatus.FAILED, f"gave up after {attempt} attempts: {error}",
                          env)  # fmt: skip
            return "failed"
        delay = policy.backoff(attempt)
        await OutboxJob.filter(id=row.id).update(
            last_error=error, lease_owner=None,
            available_at=utcnow() + timedelta(seconds=delay),
        )  # fmt: skip
        metrics.job_finished(row.job, "retried")
        raise Retry(defer=delay) from exc
    if report is not None and report.refused:
        refused = "; ".join(f"{email.to}: {why}" for email, why in report.refused)
        await _finish(row, OutboxStatus.FAILED, f"refused by the mail server: {refused}", env)
        return "failed"
    await _finish(row, OutboxStatus.DONE, None)
    return "done"
