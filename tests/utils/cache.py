"""For tests that write rows directly to stand in for time passing (a share's end, a trial's
end): tell the response cache, as a real change or the clock would.

A real deployment never needs this: changes go through a unit of work, which bumps the
counters, and time-based ends are stored with every cached answer. A test that moves an
end into the past by hand moves the clock for that one row only, so it says so here.
"""

from __future__ import annotations

import uuid

from domain import versions
from domain.unit_of_work import AfterCommit, unit_of_work
from models import Member

_after_commit: AfterCommit | None = None


def use(after_commit: AfterCommit | None) -> None:
    global _after_commit
    _after_commit = after_commit


async def clock_moved(
    *, owners: tuple[uuid.UUID | str, ...] = (), accounts: tuple[uuid.UUID | str, ...] = ()
) -> None:
    """Bump the counters of these owners and accounts (and the owners those accounts
    collaborate with)."""
    collaborated = await Member.filter(account_id__in=list(accounts)).values_list(
        "owner_id", flat=True
    )
    async with unit_of_work(_after_commit):
        versions.touch_owner(*owners, *accounts, *collaborated)  # type: ignore[arg-type]
        versions.touch_account(*accounts)
