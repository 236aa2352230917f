"""After a change commits: its version bump and jobs go to Redis and arq, its live events
to Redis pub/sub.

Shared by the gateway and the workers (whose cron jobs commit changes too).
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from dataclasses import asdict

from arq.connections import ArqRedis

from domain import versions
from domain.clock import utcnow
from domain.unit_of_work import LiveEvent
from infra import outages
from infra.settings import Settings
from models import OutboxJob

log = logging.getLogger(__name__)

RUN_OUTBOX_JOB = "run_outbox_job"
SESSIONS = versions.sessions_key("")  # the prefix of the session counters

# Every counter a bump touches moves to one value above every value any counter ever had
# (the epoch, a key that never expires): a counter that expired and comes back can never
# repeat a value that a cached entry, a remembered session or an ETag was made under.
_BUMP = """
local epoch = tonumber(redis.call('GET', KEYS[1]) or '0')
for i = 2, #KEYS do
  local current = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if current > epoch then epoch = current end
end
epoch = epoch + 1
redis.call('SET', KEYS[1], epoch)
for i = 2, #KEYS do redis.call('SET', KEYS[i], epoch, 'EX', ARGV[1]) end
return epoch
"""


class RedisAfterCommit:
    def __init__(self, redis: ArqRedis, settings: Settings) -> None:
        self.redis = redis
        self.channel = settings.events_channel
        self.versions_prefix = settings.versions_prefix
        self.version_ttl_seconds = settings.version_ttl_seconds
        self._bump = redis.register_script(_BUMP)
        # `version_bump` outbox rows of this process whose bump Redis did not take, and
        # their counters: while any is left this process's cache serves nothing
        # (gateway.response_cache), and its next bump writes them too.
        self.unwritten: dict[uuid.UUID, list[str]] = {}

    async def bump(self, keys: list[str]) -> None:
        """Bump the counters a change touched, so no gateway serves a cached answer that
        predates it. A counter expires only after every entry that could have read it
        (entries store "0" for a missing counter; a counter that vanished while such an
        entry lived would read "0" again and revive it), and never comes back lower.

        Sessions that ended are also announced on the live-events channel, so every
        gateway closes the sockets those sessions opened at once (gateway.live_sockets)."""
        if keys:
            prefix = self.versions_prefix
            await self._bump(keys=[prefix + "~epoch", *(prefix + k for k in keys)],
                             args=[self.version_ttl_seconds])  # fmt: skip
        ended = [key.removeprefix(SESSIONS) for key in keys if key.startswith(SESSIONS)]
        if ended:
            await self.redis.publish(self.channel, json.dumps({"sessions_ended": ended}))

    async def versions_committed(self, keys: list[str], outbox_id: uuid.UUID | None = None) -> None:
        """Bump a committed change's counters, with any this process could not bump before;
        then their `version_bump` rows are spent. A failure keeps them for the relay."""
        earlier = dict(self.unwritten)
        try:
            await self.bump(sorted({*keys, *(k for ks in earlier.values() for k in ks)}))
        except Exception:
            if outbox_id is not None:
                self.unwritten[outbox_id] = list(keys)
            raise
        await self._spent([*([outbox_id] if outbox_id else []), *earlier])

    async def write_unwritten(self) -> bool:
        """Writes the bumps this process could not; True when none is left."""
        earlier = dict(self.unwritten)
        if not earlier:
            return True
        try:
            await self.bump(sorted({k for ks in earlier.values() for k in ks}))
        except Exception as exc:
            log.info("cache versions still unwritten (%s: %s)", type(exc).__name__, exc)
            return False
        await self._spent(list(earlier))
        return not self.unwritten

    async def _spent(self, row_ids: list[uuid.UUID]) -> None:
        for row_id in row_ids:
            self.unwritten.pop(row_id, None)
        if row_ids:  # the database away: the relay bumps them once more, which is harmless
            with contextlib.suppress(Exception):
                await OutboxJob.filter(id__in=row_ids).delete()

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
