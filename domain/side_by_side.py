"""Independent reads of one request, side by side on pooled connections.

A cold dashboard's statements were one round trip after another; most depend only on
the caller's member records, so they can overlap (inside a transaction Tortoise's lock
runs them one after the other). Not `asyncio.TaskGroup`: it wraps a failure in an
ExceptionGroup, and an outage is recognised by its exception's type (infra/outages.py),
so the first failure is raised as itself, with the other reads cancelled and awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar, overload

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


@overload
async def side_by_side(a: Awaitable[A], b: Awaitable[B], /) -> tuple[A, B]: ...
@overload
async def side_by_side(a: Awaitable[A], b: Awaitable[B], c: Awaitable[C], /) -> tuple[A, B, C]: ...
async def side_by_side(*reads: Awaitable[Any]) -> tuple[Any, ...]:
    tasks = [asyncio.ensure_future(read) for read in reads]
    try:
        return tuple(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # none left running
        raise
