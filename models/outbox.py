"""The transactional outbox: jobs written with the change that causes them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import OutboxStatus, SentEmailStatus


class OutboxJob(Model):
    id = fields.UUIDField(primary_key=True)
    job = fields.CharField(max_length=64)
    payload: dict = fields.JSONField(default=dict)
    status = fields.CharEnumField(OutboxStatus, max_length=8, default=OutboxStatus.PENDING)
    # For the owner's view of what failed; NULL for jobs not tied to one owner.
    owner_id = fields.UUIDField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    available_at = fields.DatetimeField(db_index=True)
    attempts = fields.IntField(default=0)
    enqueued_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    # The run holding the row (with `available_at` as the lease's end, renewed while alive).
    lease_owner = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "outbox_job"


class SentEmail(Model):
    """One row per email key, claimed before the hand-off to SMTP: a retried job finds its
    key here and sends nothing, and an email whose fate is unknown shows as IN_DOUBT."""

    key = fields.CharField(max_length=255, primary_key=True)
    recipient = fields.CharField(max_length=320)
    subject = fields.CharField(max_length=255)
    sent_at = fields.DatetimeField(auto_now_add=True)  # when it was claimed
    status = fields.CharEnumField(SentEmailStatus, max_length=8, default=SentEmailStatus.SENT)
    outbox_id = fields.UUIDField(null=True, db_index=True)  # the job whose run claimed it
    claimed_by = fields.CharField(max_length=64, null=True)  # that run's lease token
    # The message as handed to SMTP, kept only while SENDING or IN_DOUBT (for a resend).
    message = fields.TextField(null=True)

    class Meta:
        table = "sent_email"


class ShareNotice(Model):
    """Environments a member was told about, so a share is announced once per environment."""

    id = fields.UUIDField(primary_key=True)
    member_id = fields.UUIDField()
    environment_id = fields.UUIDField()
    # The share_notifications job whose digest announces it: a digest claims its
    # environments here before it is sent, so a retry sends the same list and no other
    # digest repeats them. NULL when announced one by one or recorded while OFF.
    digest_outbox_id = fields.UUIDField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "share_notice"
        unique_together = (("member_id", "environment_id"),)
