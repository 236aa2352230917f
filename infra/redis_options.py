"""The one Redis settings block of a process: URL, time-outs and health checks.

Every client a process holds (the arq pool for jobs and cached reads, the rate limiter's
storage, the live-event subscription, the hit path's connection) is built from
`RedisOptions.of(settings)`, so one setting changes them all and none drifts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.settings import Settings


@dataclass(frozen=True)
class RedisOptions:
    url: str
    connect_timeout: float
    command_timeout: float
    rate_limit_timeout: float
    health_check_seconds: int

    @classmethod
    def of(cls, settings: Settings, url: str | None = None) -> RedisOptions:
        return cls(
            url=url or settings.redis_url,
            connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
            command_timeout=settings.REDIS_COMMAND_TIMEOUT,
            rate_limit_timeout=settings.REDIS_RATE_LIMIT_TIMEOUT,
            health_check_seconds=settings.REDIS_HEALTH_CHECK_SECONDS,
        )

    def commands(self) -> dict[str, Any]:
        """redis-py keyword arguments for a client that sends commands."""
        return {"socket_connect_timeout": self.connect_timeout,
                "socket_timeout": self.command_timeout,
                "health_check_interval": self.health_check_seconds}  # fmt: skip

    def rate_limits(self) -> dict[str, Any]:
        """A request never waits long on its rate limit (the process counts alone then)."""
        return {**self.commands(), "socket_connect_timeout": self.rate_limit_timeout,
                "socket_timeout": self.rate_limit_timeout}  # fmt: skip

    def subscription(self) -> dict[str, Any]:
        """No reply time-out (an idle subscription is normal); health checks instead."""
        return {"socket_connect_timeout": self.connect_timeout,
                "health_check_interval": self.health_check_seconds}  # fmt: skip
