"""What the gateway depends on, checked for /readyz and watched while it is down.

A probe pings the database and Redis in the background: every few seconds while they
answer, with a capped, doubling back-off while one is down, so the end of an outage is
logged (infra.outages) even when no request happens to notice it.
"""

from __future__ import annotations

import asyncio
import contextlib

from redis.asyncio import Redis
from tortoise.connection import get_connection

from infra import outages

HEALTHY_INTERVAL = 5.0


class Dependencies:
    def __init__(self, redis: Redis, backoff_max: float) -> None:
        self.redis = redis
        self._stop = asyncio.Event()
        self.database = outages.watch(outages.DATABASE, backoff_max)
        self.redis_watch = outages.watch(outages.REDIS, backoff_max)

    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the cancellation
    # that stops the probe at shutdown, which then never ends.
    async def _database(self) -> None:
        async with asyncio.timeout(3):
            await get_connection("default").execute_query("SELECT 1")

    async def _redis(self) -> None:
        async with asyncio.timeout(3):
            await self.redis.ping()

    async def check(self) -> dict[str, str]:
        """{"database": "ok" | "down: <why>", "redis": ...}; updates the watches."""
        result: dict[str, str] = {}
        for name, probe, watch in (("database", self._database, self.database),
                                   ("redis", self._redis, self.redis_watch)):  # fmt: skip
            try:
                await probe()
            except Exception as exc:
                watch.failed(exc, "readiness probe")
                result[name] = f"down: {type(exc).__name__}"
            else:
                watch.ok()
                result[name] = "ok"
        return result

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @stopped.setter
    def stopped(self, value: bool) -> None:
        """Setting it wakes the probe's pause: a cancellation that arrives mid-check can be
        lost in the drivers, and the shutdown then waited out the whole pause (5 s)."""
        if value:
            self._stop.set()
        else:
            self._stop.clear()

    async def watch_forever(self) -> None:
        while not self.stopped:
            await self.check()
            pauses = [w.delay() for w in (self.database, self.redis_watch) if w.down]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(pauses) if pauses else HEALTHY_INTERVAL):
                    await self._stop.wait()
