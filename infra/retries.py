"""Running a transaction again when it met another process's SQLite write lock.

With WAL, a busy timeout and `BEGIN IMMEDIATE` (infra.sqlite_backend) writers queue for
the lock; a transaction can still lose (a checkpoint, a statement outside a transaction
that met the timeout). The whole change was rolled back, so running it again is safe.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from infra import outages

log = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 5


async def retry_when_locked(work: Callable[[], Awaitable[T]], attempts: int = ATTEMPTS) -> T:
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except Exception as exc:
            if attempt == attempts or not outages.locked(exc):
                raise
            pause = 0.05 * 2**attempt * (0.5 + random.random())
            log.info("transaction met a database lock; retry %d in %.2f s", attempt, pause)
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover
