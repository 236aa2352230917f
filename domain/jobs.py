"""The job table: every background job the domain can ask for, and what it carries.

Jobs are written to the outbox inside the transaction of the change that causes them and
handed to arq only after that transaction commits (see `domain.unit_of_work`).
"""

from __future__ import annotations

from enum import Enum


class Job(str, Enum):
    # payload: member_id, token, reason ("invite" | "reinvite" | "resend" | "copy")
    INVITATION_EMAIL = "invitation_email"
    # payload: member_id, decision ("accepted" | "rejected" | "left")
    DECISION_EMAIL = "decision_email"
    # payload: member_id; announces each environment newly visible to the member, once,
    # as its account's notification_preference says (EACH, DIGEST or OFF; workers/shares.py)
    SHARE_NOTIFICATIONS = "share_notifications"
    # payload: members [{member_id, trial_ends_at}] (up to TRIAL_EMAIL_BATCH); the member
    # and the owner of each, once per trial end, over one SMTP connection.
    # (Rows written before batching carry one member_id, trial_ends_at: still understood.)
    TRIAL_EXPIRED_EMAIL = "trial_expired_email"
    # payload: environment_id, message, kind ("load" | "scaling")
    ALERT_FANOUT = "alert_fanout"
    # payload: account_id, token; the password-reset link, to the account's email
    PASSWORD_RESET_EMAIL = "password_reset_email"
    # payload: account_id, token; the verification link for an account made by signUp
    EMAIL_VERIFICATION_EMAIL = "email_verification_email"
    # payload: member_id, change ("suspended" | "activated" | "removed"); to the member
    MEMBER_STATUS_EMAIL = "member_status_email"
    # payload: reminders [{member_id, invitation}] (invitation: the reminded token's id) and
    # tokens {member_id: the reminder's own link token}; up to REMINDER_BATCH, one owner
    INVITATION_REMINDER_EMAIL = "invitation_reminder_email"
    # payload: members [{member_id, trial_ends_at}], up to REMINDER_BATCH, one owner; the
    # trial collaborator (once per trial end) and the owner of each membership
    TRIAL_WARNING_EMAIL = "trial_warning_email"
    # payload: key; an operator's resend of an IN_DOUBT email, its stored message as it was
    RESEND_EMAIL = "resend_email"
    # payload: operation_id; carries one EnvironmentOperation out on the platform
    # (domain/platform_ops.py), the row's lease covering its retries
    PLATFORM_OPERATION = "platform_operation"
    # payload: owner_id; makes the owner's environments match the platform's getenvs
    # (domain/inventory.py)
    PLATFORM_SYNC = "platform_sync"
