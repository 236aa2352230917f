"""Writing jobs to the outbox, in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from domain import unit_of_work, versions
from domain.clock import utcnow
from domain.jobs import Job
from infra.logs import current_request_id
from models import OutboxJob


async def add(
    job: Job,
    payload: Mapping[str, Any],  # the job family's TypedDict (domain.jobs)
    owner_id: uuid.UUID | None = None,
    available_at: datetime | None = None,
) -> OutboxJob:
    request_id = current_request_id()
    if request_id and "request_id" not in payload:
        payload = {**payload, "request_id": request_id}  # the job logs under the same id
    payload = dict(payload)
    row = await OutboxJob.create(
        id=uuid.uuid4(),
        job=job.value,
        payload=payload,
        owner_id=owner_id,
        available_at=available_at or utcnow(),
    )
    uow = unit_of_work.current()
    if uow is not None:
        uow.job_ids.append(row.id)
    versions.touch_owner(owner_id)
    return row


def notify(account_ids: list[Any], reason: str, owner_id: Any) -> None:
    """Queue a live `sharedWithMeChanged` push for these accounts, sent after commit."""
    uow = unit_of_work.current()
    ids = tuple(sorted({str(a) for a in account_ids if a}))
    versions.touch_owner(owner_id)
    versions.touch_account(*ids)
    if uow is not None and ids:
        uow.events.append(unit_of_work.LiveEvent(ids, reason, str(owner_id)))
