"""Rows that a request only reads, as plain objects.

Building a Tortoise model instance costs several times a `values()` row; a dashboard read
touches thousands of environments and never saves them. These records carry the same
attribute names as the models, so code that only reads accepts either.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from models import Environment, EnvironmentGroup, EnvironmentStatus

ENVIRONMENT_FIELDS = ("id", "owner_id", "created_by_id", "name", "display_name", "status",
                      "created_at", "platform_busy", "open_operation_id")  # fmt: skip
GROUP_FIELDS = ("id", "owner_id", "parent_id", "name")


@dataclass(frozen=True, slots=True)
class EnvironmentRecord:
    id: uuid.UUID
    owner_id: uuid.UUID
    created_by_id: uuid.UUID
    name: str
    display_name: str
    status: EnvironmentStatus
    created_at: datetime
    platform_busy: bool = False
    open_operation_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class GroupRecord:
    id: uuid.UUID
    owner_id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str


async def live_environments(owner_ids: Iterable[uuid.UUID]) -> list[EnvironmentRecord]:
    """The owners' environments that are not deleted, by name."""
    rows = (
        await Environment.filter(owner_id__in=list(owner_ids))
        .exclude(status=EnvironmentStatus.DELETED)
        .order_by("name")
        .values(*ENVIRONMENT_FIELDS)
    )
    return [EnvironmentRecord(**row) for row in rows]


async def environments_by_id(
    ids: Iterable[uuid.UUID], by_name: bool = False
) -> list[EnvironmentRecord]:
    query = Environment.filter(id__in=list(ids))
    rows = await (query.order_by("name") if by_name else query).values(*ENVIRONMENT_FIELDS)
    return [EnvironmentRecord(**row) for row in rows]


async def groups_of(owner_ids: Iterable[uuid.UUID]) -> list[GroupRecord]:
    """The owners' whole group trees, by name."""
    rows = (
        await EnvironmentGroup.filter(owner_id__in=list(owner_ids))
        .order_by("name")
        .values(*GROUP_FIELDS)
    )
    return [GroupRecord(**row) for row in rows]
