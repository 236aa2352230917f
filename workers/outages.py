"""The worker rides out Redis and database outages instead of exiting.

arq's worker loop ends on the first Redis error. `ResilientWorker` catches connection
errors in each poll, logs the outage once (infra.outages), waits a capped, doubling
back-off and polls again; redis-py reconnects by itself on the next command. A job that
meets an outage is handed back to arq with `Retry` (its outbox row is untouched, or was
left PENDING), so it runs again once the dependency is back.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from arq import Retry

from infra import outages, retries
from workers import health
from workers.adapters.arq_worker import HookedWorker


class ResilientWorker(HookedWorker):
    async def around_poll(self) -> None:
        settings = self.ctx.get("settings")
        health.beat(getattr(settings, "WORKER_HEARTBEAT_FILE", None))
        watch = outages.watch(outages.REDIS)
        try:
            await self.poll_once()
        except Exception as exc:
            if not outages.unavailable(exc):
                raise
            watch.failed(exc, "worker poll")
            await asyncio.sleep(watch.delay())
            return
        watch.ok()


def retried_during_outages(job: Callable[..., Awaitable[Any]]) -> Any:
    """An arq job function that answers an outage with `Retry` after a capped back-off."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await job(ctx, *args, **kwargs)
        except Retry:
            raise
        except Exception as exc:
            if not outages.unavailable(exc):
                raise
            watch = outages.watch(outages.dependency_of(exc))
            watch.failed(exc, "job")
            tries = int(ctx.get("job_try") or 1)
            raise Retry(defer=retries.OUTAGE.delay(tries)) from exc

    return run
