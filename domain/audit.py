"""Audit entries: every collaborator action on an owner's resources and every sharing change.

Each entry keeps, beside the ids, the actor's email and the target's name as they were
when it was written, so a later rename, email change or deletion does not rewrite history.
"""

from __future__ import annotations

import uuid
from typing import Any

from domain import versions
from domain.clock import utcnow
from models import Account, AuditEntry, AuditOutcome, Environment, EnvironmentGroup, Member

ROOT_NAME = "All environments"


async def _actor_email(actor_id: uuid.UUID | None) -> str | None:
    if actor_id is None:
        return None
    found = await Account.filter(id=actor_id).values_list("email", flat=True)
    return str(found[0]) if found else None


async def target_name(target_type: str, target_id: Any) -> str | None:
    """What the owner calls the target: a member's email, an environment's or a group's
    name."""
    if target_type == "EnvironmentsRoot":
        return ROOT_NAME
    if target_id is None:
        return None
    model: Any = {"Member": Member, "Environment": Environment,
                  "EnvironmentGroup": EnvironmentGroup}.get(target_type)  # fmt: skip
    if model is None:
        return None
    column = "email" if model is Member else "name"
    try:
        found = await model.filter(id=target_id).values_list(column, flat=True)
    except (ValueError, TypeError):
        return None
    return str(found[0]) if found else None


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
        actor_email=await _actor_email(actor_id),
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        target_name=await target_name(target_type, target_id),
        environment_id=environment_id,
        detail=detail or {},
    )
