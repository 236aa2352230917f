"""The outbox relay: hands committed outbox rows to arq, whatever happened after commit.

The gateway enqueues a job right after its transaction commits. If Redis was down then,
or the process died between commit and enqueue, the row is still PENDING in the outbox;
every worker runs this loop, which enqueues PENDING rows whose `available_at` has come.
The arq job id is the row id, so enqueueing a row that is already queued, running or
retrying is a no-op, and several workers relaying at once never duplicate work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from arq.connections import ArqRedis

from collab import outages
from collab.dispatch import RUN_OUTBOX_JOB
from domain.clock import utcnow
from models import OutboxJob, OutboxStatus

log = logging.getLogger(__name__)

BATCH = 500


async def relay_once(redis: ArqRedis, queue_name: str) -> int:
    """Enqueues due PENDING rows; returns how many arq accepted as new jobs."""
    due = (
        await OutboxJob.filter(status=OutboxStatus.PENDING, available_at__lte=utcnow())
        .order_by("available_at")
        .limit(BATCH)
        .values_list("id", flat=True)
    )
    fresh: list[uuid.UUID] = []
    for row_id in due:
        job = await redis.enqueue_job(
            RUN_OUTBOX_JOB, str(row_id), _job_id=str(row_id), _queue_name=queue_name
        )
        if job is not None:
            fresh.append(uuid.UUID(str(row_id)))
    if fresh:
        await OutboxJob.filter(id__in=fresh, enqueued_at=None).update(enqueued_at=utcnow())
        log.info("relayed %d outbox row(s)", len(fresh))
    return len(fresh)


async def relay_forever(redis: ArqRedis, queue_name: str, interval: float) -> None:
    database = outages.watch(outages.DATABASE)
    while True:
        pause = interval
        try:
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
