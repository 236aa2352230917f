"""A small thread pool for CPU-heavy calls (password hashing), with a bounded queue.

argon2 is slow on purpose and releases the GIL. On asyncio's default executor a burst of
sign-ups ran as many hashes at once as that executor had threads and starved the event
loop (a logged-in query waited 6.8 s). Here at most `threads` calls run at once and at
most `backlog` wait; a caller that may be turned away (`may_refuse`) gets `PoolBusy`
rather than a place at the end of a long queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class PoolBusy(Exception):
    """Every thread is busy and the queue is full."""


class BoundedPool:
    def __init__(self, name: str, threads: int = 1, backlog: int = 8) -> None:
        self.name = name
        self.threads = max(1, threads)
        self.backlog = max(0, backlog)
        self.pending = 0  # running and waiting calls
        self._executor: ThreadPoolExecutor | None = None

    def configure(self, threads: int, backlog: int) -> None:
        """New sizes; calls already queued finish on the old threads."""
        if self._executor is not None and max(1, threads) != self.threads:
            self._executor.shutdown(wait=False)
            self._executor = None
        self.threads, self.backlog = max(1, threads), max(0, backlog)

    async def run(self, fn: Callable[..., T], *args: object, may_refuse: bool = False) -> T:
        if may_refuse and self.pending >= self.threads + self.backlog:
            raise PoolBusy(self.name)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix=self.name)
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self.pending -= 1
