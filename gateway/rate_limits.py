"""Fixed-window counters in Redis (the `limits` package), shared by every gateway replica.

While Redis is unreachable each process counts in memory instead, with the same rules:
an attacker gets at most one allowance per gateway process rather than an unlimited
number, and real users are not refused because Redis is down.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

from domain.rate_limit import Limit
from infra import outages
from infra.redis_options import RedisOptions
from infra.settings import Settings


class RedisRateLimiter:
    def __init__(self, settings: Settings, redis_url: str | None = None) -> None:
        self.settings = settings
        url = (redis_url or settings.redis_url).replace("redis://", "async+redis://", 1)
        storage = RedisStorage(
            url, wrap_exceptions=True, implementation="redispy",
            key_prefix=f"{settings.REDIS_KEY_PREFIX}:rl",
            **RedisOptions.of(settings, redis_url).rate_limits(),
        )  # fmt: skip
        self.shared = FixedWindowRateLimiter(storage)
        self.fallback = FixedWindowRateLimiter(MemoryStorage())
        self._rules: dict[str, list[RateLimitItem]] = {}

    def rules(self, limit: Limit) -> list[RateLimitItem]:
        if limit.setting not in self._rules:
            self._rules[limit.setting] = parse_many(getattr(self.settings, limit.setting))
        return self._rules[limit.setting]

    async def _take(self, strategy: FixedWindowRateLimiter, limit: Limit, key: str) -> int | None:
        wait: int | None = None
        for item in self.rules(limit):
            if not await strategy.hit(item, limit.name, key):
                stats = await strategy.get_window_stats(item, limit.name, key)
                seconds = max(1, math.ceil(stats.reset_time - time.time()))
                wait = max(wait or 0, seconds)
        return wait

    async def take(self, limit: Limit, key: str) -> int | None:
        try:
            return await self._take(self.shared, limit, key)
        except StorageError as exc:
            # One log line per outage (infra.outages), not one per attempt.
            outages.watch(outages.REDIS).failed(exc, "rate limits count in this process")
            return await self._take(self.fallback, limit, key)

    async def give_back(self, limit: Limit, key: str) -> None:
        for item in self.rules(limit):
            try:
                await self.shared.hit(item, limit.name, key, cost=-1)
            except StorageError:
                await self.fallback.hit(item, limit.name, key, cost=-1)
