"""Every back-off of the service, named once, and the one retry helper.

`Backoff.delay(attempt)` is the pause before attempt `attempt + 1`: doubling from `base`,
capped at `cap`, with optional jitter (0.5x to 1.5x) so that processes that met the same
failure do not come back in step. The policies:

- `OUTAGE`: a dependency (database, Redis) is down; the worker's poll, the live-event
  subscription, the health probe and a job that met the outage wait this long.
- `LOCK`: a SQLite transaction lost the write lock to another process and runs again.
- `JOB`: a job that failed transiently (SMTP 4xx, a relay down) is tried again later
  (workers.runner.RetryPolicy, whose fields tests shorten).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from infra import outages

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    base: float  # seconds before the second attempt
    cap: float
    jitter: bool = False

    def delay(self, attempt: int) -> float:
        """The pause after `attempt` failed attempts (0 after none)."""
        if attempt <= 0:
            return 0.0
        pause = min(self.cap, self.base * 2 ** min(attempt - 1, 30))
        return pause * (0.5 + random.random()) if self.jitter else pause


OUTAGE = Backoff(base=0.25, cap=5.0)
LOCK = Backoff(base=0.1, cap=1.6, jitter=True)
JOB = Backoff(base=2.0, cap=600.0)

ATTEMPTS = 5


async def retry(
    work: Callable[[], Awaitable[T]],
    *,
    when: Callable[[BaseException], bool],
    policy: Backoff,
    attempts: int = ATTEMPTS,
    what: str = "operation",
) -> T:
    """Runs `work` until it succeeds, fails with an error `when` refuses, or has failed
    `attempts` times (the last error is raised)."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except Exception as exc:
            if attempt == attempts or not when(exc):
                raise
            pause = policy.delay(attempt)
            log.info("%s failed (%s); retry %d in %.2f s", what, type(exc).__name__, attempt,
                     pause)  # fmt: skip
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


async def retry_when_locked(work: Callable[[], Awaitable[T]], attempts: int = ATTEMPTS) -> T:
    """A transaction that met another process's SQLite write lock, run again. With WAL, a
    busy timeout and `BEGIN IMMEDIATE` (infra.sqlite_backend) writers queue for the lock;
    a transaction can still lose (a checkpoint, a statement outside a transaction that met
    the timeout). The whole change was rolled back, so running it again is safe."""
    return await retry(work, when=outages.locked, policy=LOCK, attempts=attempts,
                       what="transaction (database lock)")  # fmt: skip
