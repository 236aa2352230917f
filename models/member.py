"""Members (collaborations), their invitation tokens and their shares."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel
from models.enums import AccountRole, MemberStatus, ShareTargetType

if TYPE_CHECKING:
    from tortoise.fields.relational import ForeignKeyNullableRelation, ForeignKeyRelation

    from models.account import Account
    from models.environment import Environment, EnvironmentGroup
    from models.role import Role


class Member(TimestampedModel):
    owner_id: uuid.UUID
    account_id: uuid.UUID | None
    owner: ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="members", on_delete=fields.CASCADE
    )
    email = fields.CharField(max_length=320)
    display_name = fields.CharField(max_length=120, null=True)
    account: ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="memberships", null=True, on_delete=fields.SET_NULL
    )
    account_role = fields.CharEnumField(AccountRole, max_length=16, default=AccountRole.VIEWER)
    status = fields.CharEnumField(MemberStatus, max_length=16, default=MemberStatus.PENDING)
    invited_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    invitation_expires_at = fields.DatetimeField(null=True)
    # The email while the record is open (pending, active, suspended, trial-expired), the
    # record's id once it has ended: at most one open record per owner and email.
    open_slot = fields.CharField(max_length=320)
    # The trial end this membership's warning was queued for (workers/reminders.py): a
    # trial moved to another end is warned about again, the same end never twice.
    trial_warning_for = fields.DatetimeField(null=True)

    class Meta:
        table = "member"
        unique_together = (("owner", "open_slot"),)


class InvitationToken(Model):
    """Only the SHA-256 of the emailed token is kept, and a re-send revokes the previous one."""

    member_id: uuid.UUID

    id = fields.UUIDField(primary_key=True)
    member: ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # Set when this invitation's reminder was queued, and on the reminder's own token (its
    # email carries a second live link to the same invitation): neither is reminded again.
    # A re-send revokes both, so the new invitation has its own reminder.
    reminded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invitation_token"


class Share(TimestampedModel):
    member_id: uuid.UUID
    environment_id: uuid.UUID | None
    group_id: uuid.UUID | None
    member: ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="shares", on_delete=fields.CASCADE
    )
    target_type = fields.CharEnumField(ShareTargetType, max_length=16)
    environment: ForeignKeyNullableRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name="shares", null=True, on_delete=fields.CASCADE
    )
    group: ForeignKeyNullableRelation[EnvironmentGroup] = fields.ForeignKeyField(
        "models.EnvironmentGroup", related_name="shares", null=True, on_delete=fields.CASCADE
    )
    expires_at = fields.DatetimeField(null=True)
    # "root", "env:<id>" or "group:<id>": one share per member and target.
    target_key = fields.CharField(max_length=48)

    class Meta:
        table = "share"
        unique_together = (("member", "target_key"),)


class ShareRole(Model):
    share_id: uuid.UUID
    role_id: uuid.UUID
    id = fields.UUIDField(primary_key=True)
    share: ForeignKeyRelation[Share] = fields.ForeignKeyField(
        "models.Share", related_name="share_roles", on_delete=fields.CASCADE
    )
    role: ForeignKeyRelation[Role] = fields.ForeignKeyField(
        "models.Role", related_name="share_roles", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "share_role"
        unique_together = (("share", "role"),)
