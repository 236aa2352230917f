"""The audit log: who did what to whose resources, allowed or denied."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import AuditOutcome

if TYPE_CHECKING:
    from tortoise.fields.relational import ForeignKeyNullableRelation, ForeignKeyRelation

    from models.account import Account


class AuditEntry(Model):
    owner_id: uuid.UUID
    actor_id: uuid.UUID | None
    id = fields.UUIDField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    owner: ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="audit_entries", on_delete=fields.CASCADE
    )
    # NULL for the platform (billing, monitoring) and for the system's own jobs.
    actor: ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="audit_actions", null=True, on_delete=fields.SET_NULL
    )
    # Names as they were at the time, so a later rename or deletion does not rewrite history.
    actor_email = fields.CharField(max_length=320, null=True)
    action = fields.CharField(max_length=64)
    outcome = fields.CharEnumField(AuditOutcome, max_length=8)
    target_type = fields.CharField(max_length=32)
    target_id = fields.CharField(max_length=64, null=True)
    target_name = fields.CharField(max_length=320, null=True)
    environment_id = fields.UUIDField(null=True, db_index=True)
    detail: dict = fields.JSONField(default=dict)

    class Meta:
        table = "audit_entry"
