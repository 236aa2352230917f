"""Environments, the environment-group tree and group membership."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel
from models.enums import EnvironmentStatus

if TYPE_CHECKING:
    from tortoise.fields.relational import ForeignKeyNullableRelation, ForeignKeyRelation

    from models.account import Account


class Environment(TimestampedModel):
    owner_id: uuid.UUID
    created_by_id: uuid.UUID
    owner: ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="environments", on_delete=fields.CASCADE
    )
    created_by: ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="created_environments", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=40)
    display_name = fields.CharField(max_length=120, default="")
    status = fields.CharEnumField(EnvironmentStatus, max_length=16)
    # "" while the environment lives, its id once deleted: names are unique among live
    # environments of an owner and a deleted name can be reused (portable partial unique).
    name_slot = fields.CharField(max_length=36, default="")

    class Meta:
        table = "environment"
        unique_together = (("owner", "name", "name_slot"),)


class EnvironmentGroup(TimestampedModel):
    owner_id: uuid.UUID
    parent_id: uuid.UUID | None
    owner: ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="environment_groups", on_delete=fields.CASCADE
    )
    parent: ForeignKeyNullableRelation[EnvironmentGroup] = fields.ForeignKeyField(
        "models.EnvironmentGroup", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=80)
    # The parent's id, or "" at the top: NULL would defeat the sibling-name unique index.
    parent_slot = fields.CharField(max_length=36, default="")

    class Meta:
        table = "environment_group"
        unique_together = (("owner", "parent_slot", "name"),)


class GroupEnvironment(Model):
    group_id: uuid.UUID
    environment_id: uuid.UUID
    id = fields.UUIDField(primary_key=True)
    group: ForeignKeyRelation[EnvironmentGroup] = fields.ForeignKeyField(
        "models.EnvironmentGroup", related_name="placements", on_delete=fields.CASCADE
    )
    environment: ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name="placements", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "group_environment"
        unique_together = (("group", "environment"),)


class EnvironmentOperation(Model):
    """What the built-in PaaS backend was asked to do: the record a real backend replaces."""

    environment_id: uuid.UUID
    actor_id: uuid.UUID | None

    id = fields.UUIDField(primary_key=True)
    environment: ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name="operations", on_delete=fields.CASCADE
    )
    actor: ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="operations", on_delete=fields.CASCADE
    )
    action = fields.CharField(max_length=64)
    detail = fields.TextField(default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "environment_operation"
