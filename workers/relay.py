"""The outbox relay: hands committed outbox rows to arq, whatever happened after commit.

The gateway enqueues a job right after its transaction commits. If Redis was down then,
or the process died between commit and enqueue, the row is still PENDING in the outbox;
every worker runs this loop, which enqueues PENDING rows whose `available_at` has come.
The arq job id is the row id, so enqueueing a row that is already queued, running or
retrying is a no-op, and several workers relaying at once never duplicate work. A row
whose run stopped renewing its lease (a killed worker) is due again once the lease ends,
and goes out under a fresh job id; the run that takes it over finishes it.

`version_bump` rows (domain.unit_of_work) are not jobs: a row still there after its grace
is a change whose cache versions the committing process could not bump (its Redis link
was cut, or it died right after commit). The relay bumps them itself, then deletes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from arq.connections import ArqRedis

from domain.clock import utcnow
from domain.unit_of_work import VERSION_BUMP
from infra import outages
from models import OutboxJob, OutboxStatus
from workers.dispatch import RUN_OUTBOX_JOB, RedisAfterCommit

log = logging.getLogger(__name__)

BATCH = 500


async def relay_once(redis: ArqRedis, queue_name: str) -> int:
    """Enqueues due PENDING rows; returns how many arq accepted as new jobs."""
    due = (
        await OutboxJob.filter(status=OutboxStatus.PENDING, available_at__lte=utcnow())
        .exclude(job=VERSION_BUMP)
        .order_by("available_at")
        .limit(BATCH)
        .values_list("id", "attempts", "lease_owner")
    )
    fresh: list[uuid.UUID] = []
    for row_id, attempts, lease_owner in due:
        job = await redis.enqueue_job(
            RUN_OUTBOX_JOB, str(row_id), _job_id=arq_job_id(row_id, attempts, lease_owner),
            _queue_name=queue_name,
        )  # fmt: skip
        if job is not None:
            fresh.append(uuid.UUID(str(row_id)))
    if fresh:
        await OutboxJob.filter(id__in=fresh, enqueued_at=None).update(enqueued_at=utcnow())
        log.info("relayed %d outbox row(s)", len(fresh))
    return len(fresh)


async def bump_once(bumps: RedisAfterCommit) -> int:
    """Bumps the versions of due `version_bump` rows, then deletes them; returns how many."""
    rows = (
        await OutboxJob.filter(job=VERSION_BUMP, status=OutboxStatus.PENDING,
                               available_at__lte=utcnow())
        .order_by("available_at").limit(BATCH).values_list("id", "payload")
    )  # fmt: skip
    if not rows:
        return 0
    await bumps.bump(
        sorted({str(k) for _, payload in rows for k in (payload or {}).get("keys", ())})
    )
    await OutboxJob.filter(id__in=[row_id for row_id, _ in rows]).delete()
    log.info("bumped the cache versions of %d change(s) left unbumped", len(rows))
    return len(rows)


def arq_job_id(row_id: object, attempts: int, lease_owner: str | None) -> str:
    """The row id, except for a row whose run's lease ran out (its worker died): arq keeps
    that job "in progress" for its whole timeout, so the take-over needs an id of its own
    (one per attempt, so several relays still enqueue it once)."""
    return str(row_id) if lease_owner is None else f"{row_id}:{attempts}"


async def relay_forever(
    redis: ArqRedis, queue_name: str, interval: float, bumps: RedisAfterCommit | None = None
) -> None:
    database = outages.watch(outages.DATABASE)
    while True:
        pause = interval
        try:
            if bumps is not None:  # first: they guard cached reads, the jobs only send mail
                await bump_once(bumps)
            await relay_once(redis, queue_name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # database or Redis away: one log line, then back off
            if outages.unavailable(exc):
                watch = outages.watch(outages.dependency_of(exc))
                watch.failed(exc, "outbox relay")
                pause = max(interval, watch.delay())
            else:
                log.warning("outbox relay: %s: %s", type(exc).__name__, exc)
        else:
            database.ok()
        await asyncio.sleep(pause)


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
