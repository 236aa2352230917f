"""Fixed-window counters in Redis, shared by every gateway replica.

Fails open: if Redis is unreachable a log-in is not refused for it.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from collab import outages
from domain.rate_limit import Limit


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str = "collab:rl") -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, limit: Limit, key: str) -> str:
        return f"{self.prefix}:{limit.name}:{key}"

    async def exceeded(self, limit: Limit, key: str) -> bool:
        try:
            value = await self.redis.get(self._key(limit, key))
        except (RedisError, OSError) as exc:
            outages.watch(outages.REDIS).failed(exc, "rate limits fail open")
            return False
        return value is not None and int(value) >= limit.max_hits

    async def hit(self, limit: Limit, key: str) -> None:
        name = self._key(limit, key)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, limit.window_seconds, nx=True)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            outages.watch(outages.REDIS).failed(exc, "rate limits fail open")
