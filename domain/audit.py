"""Audit entries: every collaborator action on an owner's resources and every sharing change."""

from __future__ import annotations

import uuid
from typing import Any

from domain import versions
from domain.clock import utcnow
from models import AuditEntry, AuditOutcome


async def record(
    *,
    owner_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: Any = None,
    outcome: AuditOutcome = AuditOutcome.ALLOWED,
    environment_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Written in the caller's transaction; denials in a unit of work of their own, after
    the refused change rolled back, so they stay."""
    versions.touch_owner(owner_id)  # the owner's audit log changed
    return await AuditEntry.create(
        id=uuid.uuid4(),
        at=utcnow(),
        owner_id=owner_id,
        actor_id=actor_id,
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        environment_id=environment_id,
        detail=detail or {},
    )
