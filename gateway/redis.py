"""The redis-py client of a process for commands: job queue (arq), rate limits, live events.

The response cache's hits go over their own pipelined connection (gateway/redis_pipe.py);
every client is built from one settings block (infra/redis_options.py).
"""

from __future__ import annotations

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

from infra.redis_options import RedisOptions


def connect(options: RedisOptions, queue_name: str) -> ArqRedis:
    """Lazy: no round trip here, so the gateway starts (and answers) while Redis is down."""
    pool = ConnectionPool.from_url(options.url, **options.commands())
    return ArqRedis(pool, default_queue_name=queue_name)
