"""DeliveryFailure: an outbox job that gave up, as its owner sees it."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.jobs import Job
from models import OutboxJob

DESCRIPTIONS = {
    Job.INVITATION_EMAIL.value: "Invitation email",
    Job.DECISION_EMAIL.value: "Decision email",
    Job.SHARE_NOTIFICATIONS.value: "Share notification",
    Job.TRIAL_EXPIRED_EMAIL.value: "Trial expiry email",
    Job.ALERT_FANOUT.value: "Load alert or scaling event",
    Job.RESEND_EMAIL.value: "Resent email",
}


@strawberry.type(description="An email that could not be delivered, after every retry.")
class DeliveryFailure:
    id: strawberry.ID
    job: str = strawberry.field(description="The job name, e.g. invitation_email.")
    description: str
    error: str = strawberry.field(description="The last error (e.g. the mail server's answer).")
    attempts: int
    created_at: datetime
    failed_at: datetime | None
    member_id: strawberry.ID | None
    environment_id: strawberry.ID | None

    @classmethod
    def of(cls, row: OutboxJob) -> DeliveryFailure:
        payload = row.payload or {}
        member, env = payload.get("member_id"), payload.get("environment_id")
        batch = payload.get("members") or []  # trial expiry: a batch of one owner's members
        if member is None and len(batch) == 1:
            member = batch[0].get("member_id")
        return cls(
            id=strawberry.ID(str(row.id)), job=row.job,
            description=DESCRIPTIONS.get(row.job, row.job), error=row.last_error or "",
            attempts=row.attempts, created_at=row.created_at, failed_at=row.finished_at,
            member_id=strawberry.ID(str(member)) if member else None,
            environment_id=strawberry.ID(str(env)) if env else None,
        )  # fmt: skip
