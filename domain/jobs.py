"""The job table: every background job the domain can ask for, and what it carries.

Jobs are written to the outbox inside the transaction of the change that causes them and
handed to arq only after that transaction commits (see `domain.unit_of_work`). What each
job family's row carries (`payload`) is a TypedDict below; every row may also carry the
`request_id` of the request that caused it (infra.logs).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Literal, TypedDict


class Job(str, Enum):
    INVITATION_EMAIL = "invitation_email"
    DECISION_EMAIL = "decision_email"
    SHARE_NOTIFICATIONS = "share_notifications"
    TRIAL_EXPIRED_EMAIL = "trial_expired_email"
    ALERT_FANOUT = "alert_fanout"
    PASSWORD_RESET_EMAIL = "password_reset_email"
    EMAIL_VERIFICATION_EMAIL = "email_verification_email"
    MEMBER_STATUS_EMAIL = "member_status_email"
    INVITATION_REMINDER_EMAIL = "invitation_reminder_email"
    TRIAL_WARNING_EMAIL = "trial_warning_email"
    RESEND_EMAIL = "resend_email"
    # payload: operation_id; carries one EnvironmentOperation out on the platform
    # (domain/platform_ops.py), the row's lease covering its retries
    PLATFORM_OPERATION = "platform_operation"
    # payload: owner_id; makes the owner's environments match the platform's getenvs
    # (domain/inventory.py)
    PLATFORM_SYNC = "platform_sync"


class _Traced(TypedDict, total=False):
    request_id: str


class InvitationPayload(_Traced):
    member_id: str
    token: str
    reason: Literal["invite", "reinvite", "resend", "copy"]


class DecisionPayload(_Traced):
    member_id: str
    decision: Literal["accepted", "rejected", "left"]


class MemberStatusPayload(_Traced):
    member_id: str
    change: Literal["suspended", "activated", "removed"]


class SharePayload(_Traced):
    """Announces each environment newly visible to the member, once, as its account's
    notification_preference says (EACH, DIGEST or OFF; workers/shares.py)."""

    member_id: str


class TrialMember(TypedDict):
    member_id: str
    trial_ends_at: str  # ISO 8601


class TrialMembersPayload(_Traced):
    """Up to a batch of one owner's members (TRIAL_EMAIL_BATCH, REMINDER_BATCH): the trial
    collaborator and the owner of each membership, once per trial end, over one SMTP
    connection (expiry and warning alike)."""

    members: list[TrialMember]


class AlertPayload(_Traced):
    environment_id: str
    message: str
    kind: Literal["load", "scaling"]


class AccountLinkPayload(_Traced):
    """The password-reset link, or the verification link of an account made by signUp, to
    the account's email."""

    account_id: str
    token: str


class Reminder(TypedDict):
    member_id: str
    invitation: str  # the reminded token's id


class RemindersPayload(_Traced):
    """Up to REMINDER_BATCH, one owner; `tokens` maps a member id to its reminder's own
    link token."""

    reminders: list[Reminder]
    tokens: dict[str, str]


class ResendPayload(_Traced):
    """An operator's resend of an IN_DOUBT email, its stored message as it was."""

    key: str


class PlatformOperationPayload(_Traced):
    """One EnvironmentOperation carried out on the platform (domain/platform_ops.py)."""

    operation_id: str


class PlatformSyncPayload(_Traced):
    """Makes the owner's environments match the platform's getenvs (domain/inventory.py)."""

    owner_id: str


PAYLOADS: dict[Job, type] = {
    Job.INVITATION_EMAIL: InvitationPayload,
    Job.DECISION_EMAIL: DecisionPayload,
    Job.SHARE_NOTIFICATIONS: SharePayload,
    Job.TRIAL_EXPIRED_EMAIL: TrialMembersPayload,
    Job.ALERT_FANOUT: AlertPayload,
    Job.PASSWORD_RESET_EMAIL: AccountLinkPayload,
    Job.EMAIL_VERIFICATION_EMAIL: AccountLinkPayload,
    Job.MEMBER_STATUS_EMAIL: MemberStatusPayload,
    Job.INVITATION_REMINDER_EMAIL: RemindersPayload,
    Job.TRIAL_WARNING_EMAIL: TrialMembersPayload,
    Job.RESEND_EMAIL: ResendPayload,
    Job.PLATFORM_OPERATION: PlatformOperationPayload,
    Job.PLATFORM_SYNC: PlatformSyncPayload,
}


def trial_members(payload: Mapping[str, Any]) -> list[TrialMember]:
    """The members of a trial job. Rows written before batching carried one member's
    `member_id` and `trial_ends_at` at the top level: read as a batch of one, here and
    nowhere else."""
    members = payload.get("members")
    if not members and "member_id" in payload:
        members = [payload]
    return [TrialMember(member_id=str(m.get("member_id")),
                        trial_ends_at=str(m.get("trial_ends_at", ""))) for m in members or []]  # fmt: skip
