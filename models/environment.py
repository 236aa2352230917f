"""Environments, the environment-group tree and group membership."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel
from models.enums import EnvironmentStatus, OperationStatus

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
    # The platform's status code is one of its transitions (neither running nor stopped):
    # `status` keeps the last settled one (CONTRACT section 6).
    platform_busy = fields.BooleanField(default=False)
    # The operation still PENDING or RUNNING on the platform, if any: a second action is
    # refused while it is set (checked under the row lock of `authorize`).
    open_operation_id = fields.UUIDField(null=True)

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
    """What the platform was asked to do. The built-in backend writes each one SUCCEEDED;
    the http backend writes it PENDING and a worker carries it to SUCCEEDED or FAILED."""

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
    status = fields.CharEnumField(OperationStatus, max_length=10, default=OperationStatus.SUCCEEDED)
    error_code = fields.CharField(max_length=32, null=True)
    error_message = fields.TextField(null=True)
    # What the platform call carries (envName, srcEnvName...), fixed when the action is taken.
    params: dict[str, str] | None = fields.JSONField(null=True)
    started_at = fields.DatetimeField(null=True)  # first RUNNING: the 60 s retry budget's start
    finished_at = fields.DatetimeField(null=True)
    # When the platform was last called for it: a run that takes over waits for that call's
    # time-out before it asks getenvs whether a create or clone went through.
    called_at = fields.DatetimeField(null=True)
    audit_id = fields.UUIDField(null=True)  # the collaborator's audit entry, given the outcome

    class Meta:
        table = "environment_operation"
