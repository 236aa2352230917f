"""Policies (the action catalogue) and roles (named sets of policies)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel

if TYPE_CHECKING:
    from tortoise.fields.relational import ForeignKeyNullableRelation, ForeignKeyRelation

    from models.account import Account


class Policy(Model):
    code = fields.CharField(max_length=64, primary_key=True)
    description = fields.CharField(max_length=255)

    class Meta:
        table = "policy"


class Role(TimestampedModel):
    owner_id: uuid.UUID | None
    # NULL owner: a built-in role every owner has.
    owner: ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="roles", null=True, on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=80)
    description = fields.CharField(max_length=500, default="")
    receive_load_alerts = fields.BooleanField(default=False)
    built_in = fields.BooleanField(default=False)
    # The owner's id, or "builtin": keeps role names unique per owner including built-ins.
    owner_slot = fields.CharField(max_length=36)

    class Meta:
        table = "role"
        unique_together = (("owner_slot", "name"),)


class RolePolicy(Model):
    role_id: uuid.UUID
    policy_id: str
    id = fields.UUIDField(primary_key=True)
    role: ForeignKeyRelation[Role] = fields.ForeignKeyField(
        "models.Role", related_name="role_policies", on_delete=fields.CASCADE
    )
    policy: ForeignKeyRelation[Policy] = fields.ForeignKeyField(
        "models.Policy", related_name="role_policies", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "role_policy"
        unique_together = (("role", "policy"),)
