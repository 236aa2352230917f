"""Enumerations stored in the database and mirrored in the GraphQL schema."""

from __future__ import annotations

from enum import Enum


class AccountKind(str, Enum):
    FULL = "FULL"
    TRIAL = "TRIAL"
    COLLABORATOR = "COLLABORATOR"


class EnvironmentStatus(str, Enum):
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    DELETED = "DELETED"


class OperationStatus(str, Enum):
    """Where a platform action stands (CONTRACT section 6)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class AccountRole(str, Enum):
    VIEWER = "VIEWER"
    ADMIN = "ADMIN"


class MemberStatus(str, Enum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    TRIAL_EXPIRED = "TRIAL_EXPIRED"
    REMOVED = "REMOVED"
    LEFT = "LEFT"


class ShareTargetType(str, Enum):
    ENVIRONMENT = "ENVIRONMENT"
    GROUP = "GROUP"
    ROOT = "ROOT"


class AuditOutcome(str, Enum):
    ALLOWED = "ALLOWED"
    DENIED = "DENIED"


class OutboxStatus(str, Enum):
    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"


class NotificationPreference(str, Enum):
    """How an account hears about environments newly shared with it (share emails only)."""

    EACH = "EACH"  # one email per newly visible environment (the default)
    DIGEST = "DIGEST"  # one email per change, listing every newly visible environment
    OFF = "OFF"  # no share emails; what becomes visible meanwhile is not announced later


class AccountTokenPurpose(str, Enum):
    PASSWORD_RESET = "PASSWORD_RESET"
    EMAIL_VERIFICATION = "EMAIL_VERIFICATION"


class SentEmailStatus(str, Enum):
    """Where one email stands; only SENDING can turn IN_DOUBT (see workers/mailer.py)."""

    CLAIMED = "CLAIMED"  # reserved by a running batch, not yet handed to SMTP
    SENDING = "SENDING"  # being handed to SMTP now: at most one per batch
    SENT = "SENT"  # the SMTP server accepted it
    IN_DOUBT = "IN_DOUBT"  # its worker died during the hand-off: it may or may not have left
