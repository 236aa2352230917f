from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime

import strawberry
from tortoise.expressions import Q

from domain.errors import ErrorCode
from domain.ids import parse_id
from models import AuditEntry as AuditEntryModel
from schema.audit.types import AuditConnection, AuditEdge, AuditEntry, AuditFilter, PageInfo
from schema.context import Info
from schema.errors import ApiError

DEFAULT_PAGE = 50
MAX_PAGE = 200


def encode_cursor(entry: AuditEntryModel) -> str:
    raw = f"{entry.at.astimezone(UTC).isoformat()}|{entry.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, entry_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment.astimezone(UTC), uuid.UUID(entry_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(ErrorCode.VALIDATION, "Not a cursor this API gave out") from None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ApiError(ErrorCode.VALIDATION, "Dates need a time zone")
    return moment.astimezone(UTC)


# The column's width: a longer filter value is refused by Tortoise, as an internal error.
ACTION_MAX_LENGTH: int = AuditEntryModel._meta.fields_map["action"].max_length  # type: ignore[attr-defined]


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Owner only: what collaborators did to the caller's resources (allowed "
        "or denied) and every sharing change, newest first."
    )
    async def audit_log(
        self, info: Info, filter: AuditFilter | None = None, first: int | None = None,
        after: str | None = None,
    ) -> AuditConnection | None:  # fmt: skip
        owner = info.context.caller()
        size = DEFAULT_PAGE if first is None else first
        if size < 0 or size > MAX_PAGE:
            raise ApiError(ErrorCode.VALIDATION, f"first must be between 0 and {MAX_PAGE}")
        query = AuditEntryModel.filter(owner_id=owner.id)
        if filter is not None:
            for value in (filter.actor_id, filter.environment_id):
                if value is not None and parse_id(value) is None:
                    return AuditConnection(edges=[], page_info=PageInfo(has_next_page=False,
                                                                        end_cursor=None))  # fmt: skip
            if filter.actor_id is not None:
                query = query.filter(actor_id=parse_id(filter.actor_id))
            if filter.environment_id is not None:
                query = query.filter(environment_id=parse_id(filter.environment_id))
            if filter.action is not None:
                if len(filter.action) > ACTION_MAX_LENGTH:  # no action is named so long
                    raise ApiError(ErrorCode.VALIDATION,
                                   f"action is at most {ACTION_MAX_LENGTH} characters")  # fmt: skip
                query = query.filter(action=filter.action)
            if filter.outcome is not None:
                query = query.filter(outcome=filter.outcome)
            if filter.since is not None:
                query = query.filter(at__gte=_utc(filter.since))
            if filter.until is not None:
                query = query.filter(at__lt=_utc(filter.until))
        if after:
            at, entry_id = decode_cursor(after)
            query = query.filter(Q(at__lt=at) | Q(at=at, id__lt=entry_id))
        rows = await query.order_by("-at", "-id").limit(size + 1)
        page = rows[:size]
        edges = [AuditEdge(cursor=encode_cursor(r), node=AuditEntry.of(r)) for r in page]
        return AuditConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None
            ),
        )
