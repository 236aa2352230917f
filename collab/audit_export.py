"""`collab audit export`: an owner's audit log for a period, as CSV or JSON lines.

Streams in pages (keyset on time, then id), so a year of entries never sits in memory;
actor emails are looked up once per page.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from models import Account, AuditEntry

PAGE = 500
COLUMNS = ["at", "id", "owner_id", "actor_id", "actor_email", "action", "outcome",
           "target_type", "target_id", "environment_id", "detail"]  # fmt: skip


class UnknownOwner(Exception):
    pass


async def owner_id(owner: str) -> uuid.UUID:
    """The owner named by an account id or an email."""
    try:
        key = uuid.UUID(owner)
    except ValueError:
        account = await Account.get_or_none(email=owner.strip().lower())
    else:
        account = await Account.get_or_none(id=key)
    if account is None:
        raise UnknownOwner(f"no account {owner!r}")
    return account.id


async def entries(
    owner: uuid.UUID, since: datetime, until: datetime | None
) -> AsyncIterator[dict[str, Any]]:
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = AuditEntry.filter(owner_id=owner, at__gte=since)
        if until is not None:
            query = query.filter(at__lt=until)
        if after is not None:
            query = query.filter(Q(at__gt=after[0]) | Q(at=after[0], id__gt=after[1]))
        page = await query.order_by("at", "id").limit(PAGE)
        if not page:
            return
        actors = {e.actor_id for e in page if e.actor_id}
        emails = dict(await Account.filter(id__in=list(actors)).values_list("id", "email"))
        for e in page:
            yield {
                "at": e.at.isoformat(), "id": str(e.id), "owner_id": str(e.owner_id),
                "actor_id": str(e.actor_id) if e.actor_id else None,
                "actor_email": emails.get(e.actor_id) if e.actor_id else None,
                "action": e.action, "outcome": getattr(e.outcome, "value", e.outcome),
                "target_type": e.target_type, "target_id": e.target_id,
                "environment_id": str(e.environment_id) if e.environment_id else None,
                "detail": e.detail or {},
            }  # fmt: skip
        after = (page[-1].at, page[-1].id)


def as_jsonl(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=False) + "\n"


def csv_header() -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(COLUMNS)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    """A spreadsheet must not run a cell as a formula (names come from users)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(entry: dict[str, Any]) -> str:
    buffer = io.StringIO()
    row = {**entry, "detail": json.dumps(entry["detail"], sort_keys=True)}
    csv.writer(buffer).writerow([_cell(row[c]) for c in COLUMNS])
    return buffer.getvalue()
