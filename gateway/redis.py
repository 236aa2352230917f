"""The redis-py client of a process: job queue (arq), rate limits and live events.

The response cache's hits go over their own pipelined connection (gateway/redis_pipe.py).
"""

from __future__ import annotations

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool


def connect(url: str, queue_name: str) -> ArqRedis:
    """Lazy: no round trip here, so the gateway starts (and answers) while Redis is down."""
    pool = ConnectionPool.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    return ArqRedis(pool, default_queue_name=queue_name)
