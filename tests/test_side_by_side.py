"""Reads side by side: results in order, and a failure raised as itself (an outage is
recognised by its exception's type) with the other reads stopped, not left running."""

from __future__ import annotations

import asyncio

import pytest

from domain.side_by_side import side_by_side
from infra import outages


async def test_results_come_back_in_the_order_asked():
    async def later(value: str, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return value

    assert await side_by_side(later("a", 0.03), later("b", 0.0), later("c", 0.01)) == (
        "a", "b", "c")  # fmt: skip


async def test_a_failure_is_raised_as_itself_and_the_other_read_is_stopped():
    stopped = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            stopped.set()

    async def database_away() -> None:
        raise ConnectionRefusedError("connect call failed")

    with pytest.raises(ConnectionRefusedError) as raised:
        await side_by_side(slow(), database_away())
    assert outages.unavailable(raised.value)  # what the gateway turns into a coded 503
    assert stopped.is_set()
