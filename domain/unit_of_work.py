"""One transaction per change, with its jobs and live events released only after commit.

A rolled-back change therefore sends nothing; a committed one always has its outbox rows,
so a Redis outage delays its jobs (the relay picks them up) but never loses them. The same
holds for the cache version counters it touched (domain/versions.py): they are written to
the outbox with the change (a `version_bump` row) and bumped after commit; a bump that
cannot be written stays in the outbox and the workers' relay bumps it (workers/relay.py),
so no cached answer outlives a committed change by more than the relay's delay.
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from tortoise.transactions import in_transaction

from domain.clock import utcnow
from models import OutboxJob

log = logging.getLogger(__name__)

# The outbox job of a change's version bump, payload {"keys": [...]}. Never handed to arq:
# the relay bumps such rows itself once they are `VERSION_BUMP_GRACE` old (the committing
# process normally bumps and deletes its row within milliseconds).
VERSION_BUMP = "version_bump"
VERSION_BUMP_GRACE = timedelta(seconds=1)


@dataclass(frozen=True)
class LiveEvent:
    """Tells subscribers of these accounts that their "Shared with me" view changed."""

    account_ids: tuple[str, ...]
    reason: str
    owner_id: str


class AfterCommit(Protocol):
    async def jobs_committed(self, job_ids: list[uuid.UUID]) -> None: ...

    async def events_committed(self, events: list[LiveEvent]) -> None: ...

    async def versions_committed(self, keys: list[str], outbox_id: uuid.UUID | None = None) -> None:
        """Bump these counters; on success the `version_bump` row `outbox_id` is spent."""


@dataclass
class UnitOfWork:
    job_ids: list[uuid.UUID] = field(default_factory=list)
    events: list[LiveEvent] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)  # see domain.versions


_current: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
    "unit_of_work", default=None
)


def current() -> UnitOfWork | None:
    return _current.get()


@asynccontextmanager
async def unit_of_work(after_commit: AfterCommit | None) -> AsyncIterator[UnitOfWork]:
    outer = _current.get()
    if outer is not None:  # already inside one: join it, the outer one releases
        yield outer
        return
    uow = UnitOfWork()
    token = _current.set(uow)
    try:
        async with in_transaction():
            yield uow
            bump = await _record_bump(uow)
    finally:
        _current.reset(token)
    if after_commit is None:
        return
    # Cached reads first: nobody may be served the old answer once the change is visible.
    try:
        if bump is not None:
            await after_commit.versions_committed(sorted(uow.versions), bump)
    except Exception:
        log.warning("could not bump %d cache version(s); the relay will", len(uow.versions))
    # Failures here never undo the committed change: the outbox relay retries the jobs.
    try:
        if uow.job_ids:
            await after_commit.jobs_committed(uow.job_ids)
    except Exception:
        log.warning("could not enqueue %d job(s); the relay will", len(uow.job_ids))
    try:
        if uow.events:
            await after_commit.events_committed(uow.events)
    except Exception:
        log.warning("could not publish %d live event(s)", len(uow.events))


async def _record_bump(uow: UnitOfWork) -> uuid.UUID | None:
    """The change's version bump, written with it: durable whatever happens after commit."""
    if not uow.versions:
        return None
    row = await OutboxJob.create(
        id=uuid.uuid4(), job=VERSION_BUMP, payload={"keys": sorted(uow.versions)},
        available_at=utcnow() + VERSION_BUMP_GRACE,
    )  # fmt: skip
    return row.id
