"""After a change commits: its jobs go to arq, its live events to Redis pub/sub.

Shared by the gateway and the workers (whose cron jobs commit changes too).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict

from arq.connections import ArqRedis

from domain import versions
from domain.clock import utcnow
from domain.unit_of_work import LiveEvent
from infra import outages
from infra.settings import Settings
from models import OutboxJob

RUN_OUTBOX_JOB = "run_outbox_job"
SESSIONS = versions.sessions_key("")  # the prefix of the session counters


class RedisAfterCommit:
    def __init__(self, redis: ArqRedis, settings: Settings) -> None:
        self.redis = redis
        self.channel = settings.events_channel
        self.versions_prefix = settings.versions_prefix
        self.version_ttl_seconds = settings.version_ttl_seconds

    async def versions_committed(self, keys: list[str]) -> None:
        """Bump the counters a change touched, so no gateway serves a cached answer that
        predates it. A counter expires only after every entry that could have read it
        (entries store "0" for a missing counter; a counter that vanished while such an
        entry lived would read "0" again and revive it).

        Sessions that ended are also announced on the live-events channel, so every
        gateway closes the sockets those sessions opened at once (gateway.live_sockets)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.incr(self.versions_prefix + key)
                pipe.expire(self.versions_prefix + key, self.version_ttl_seconds)
            await pipe.execute()
        ended = [key.removeprefix(SESSIONS) for key in keys if key.startswith(SESSIONS)]
        if ended:
            await self.redis.publish(self.channel, json.dumps({"sessions_ended": ended}))

    async def jobs_committed(self, job_ids: list[uuid.UUID]) -> None:
        try:
            for job_id in job_ids:
                # The job id doubles as arq's job id: the relay enqueueing it again is a no-op.
                await self.redis.enqueue_job(RUN_OUTBOX_JOB, str(job_id), _job_id=str(job_id))
        except Exception as exc:
            if not outages.unavailable(exc):
                raise
            # Redis away: the rows stay PENDING and a worker's relay enqueues them later.
            outages.watch(outages.REDIS).failed(exc, "enqueue after commit")
            return
        await OutboxJob.filter(id__in=job_ids, enqueued_at=None).update(enqueued_at=utcnow())

    async def events_committed(self, events: list[LiveEvent]) -> None:
        try:
            for event in events:
                await self.redis.publish(self.channel, json.dumps(asdict(event)))
        except Exception as exc:
            if not outages.unavailable(exc):
                raise
            outages.watch(outages.REDIS).failed(exc, "live events")
