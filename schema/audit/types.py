"""The audit log as the owner reads it: a Relay-style connection, newest first."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models import AuditEntry as AuditEntryModel
from schema.accounts.types import AccountRef
from schema.context import Info
from schema.enums import AuditOutcome


@strawberry.input
class AuditFilter:
    actor_id: strawberry.ID | None = None
    environment_id: strawberry.ID | None = None
    action: str | None = None
    outcome: AuditOutcome | None = None
    since: datetime | None = strawberry.field(default=None, description="Inclusive.")
    until: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.type
class AuditEntry:
    id: strawberry.ID
    at: datetime
    action: str
    outcome: AuditOutcome
    target_type: str
    target_id: str | None
    environment_id: strawberry.ID | None
    actor_email: str | None = strawberry.field(
        description="The actor's email when the entry was written (null for the platform "
        "and the system's jobs); it stays even if the account changes or goes."
    )
    target_name: str | None = strawberry.field(
        description="The target's name when the entry was written: a member's email, an "
        "environment's or a group's name, \"All environments\" for the root."
    )
    actor_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, m: AuditEntryModel) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(m.id)), at=m.at, action=m.action, outcome=m.outcome,
            target_type=m.target_type, target_id=m.target_id,
            environment_id=strawberry.ID(str(m.environment_id)) if m.environment_id else None,
            actor_email=m.actor_email, target_name=m.target_name, actor_id=m.actor_id,
        )  # fmt: skip

    @strawberry.field(description="Null for the platform and the system's own jobs.")
    async def actor(self, info: Info) -> AccountRef | None:
        if self.actor_id is None:
            return None
        account = await info.context.loaders.account.load(self.actor_id)
        return AccountRef.of(account) if account else None


@strawberry.type
class AuditEdge:
    cursor: str
    node: AuditEntry


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class AuditConnection:
    edges: list[AuditEdge]
    page_info: PageInfo
