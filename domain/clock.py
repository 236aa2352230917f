"""One source of "now", always timezone-aware UTC.

Tests travel in time with `travel(timedelta(hours=73))`: everything in the process that
asks this module (resolvers, domain rules, the workers and their crons) then lives that
much later, while the database's own defaults and arq's scheduler keep the real time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)  # module-wide, not per task: a worker's job tasks must see it too


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset


@contextmanager
def travel(by: timedelta) -> Iterator[None]:
    """For tests: the clock runs `by` ahead (nested calls add up) until the block ends."""
    global _offset
    saved = _offset
    _offset = saved + by
    try:
        yield
    finally:
        _offset = saved
