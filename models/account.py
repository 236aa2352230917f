"""Accounts and their login sessions."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel
from models.enums import AccountKind, AccountTokenPurpose, NotificationPreference

if TYPE_CHECKING:
    from tortoise.fields.relational import ForeignKeyRelation


class Account(TimestampedModel):
    # Stored lower-cased so that uniqueness is case-insensitive on every database.
    email = fields.CharField(max_length=320, unique=True)
    display_name = fields.CharField(max_length=120, default="")
    password_hash = fields.CharField(max_length=255)
    kind = fields.CharEnumField(AccountKind, max_length=16, default=AccountKind.TRIAL)
    trial_ends_at = fields.DatetimeField(null=True)
    # Set when the owner of the address proved it (the emailed link, or an invitation).
    email_verified_at = fields.DatetimeField(null=True)
    # Share emails only (workers/shares.py); read when the job runs, not when it is queued.
    notification_preference = fields.CharEnumField(
        NotificationPreference, max_length=8, default=NotificationPreference.EACH
    )
    # The owner's account on the platform (`platformLinkAccount`): what `getenvs` and
    # `createenvironment` call `ownerUid`. Unset: the owner is not linked.
    # Unique where set: a partial-free unique index (NULLs never clash), migration 0007.
    platform_uid = fields.CharField(max_length=120, null=True)

    class Meta:
        table = "account"


class Session(Model):
    """A bearer token. Only its SHA-256 is stored, so a database leak yields no logins."""

    account_id: uuid.UUID

    id = fields.UUIDField(primary_key=True)
    account: ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="sessions", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "session"


class AccountToken(Model):
    """A single-use emailed link for the account: password reset or email verification.

    Only its SHA-256 is stored; a newer token of the same purpose revokes the older one.
    """

    account_id: uuid.UUID

    id = fields.UUIDField(primary_key=True)
    account: ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="tokens", on_delete=fields.CASCADE
    )
    purpose = fields.CharEnumField(AccountTokenPurpose, max_length=24)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account_token"
