"""Tortoise models, one module per aggregate."""

from models.account import Account, AccountToken, Session
from models.audit import AuditEntry
from models.enums import (
    AccountKind,
    AccountRole,
    AccountTokenPurpose,
    AuditOutcome,
    EnvironmentStatus,
    MemberStatus,
    NotificationPreference,
    OperationStatus,
    OutboxStatus,
    SentEmailStatus,
    ShareTargetType,
)
from models.environment import (
    Environment,
    EnvironmentGroup,
    EnvironmentOperation,
    GroupEnvironment,
)
from models.member import InvitationToken, Member, Share, ShareRole
from models.outbox import OutboxJob, SentEmail, ShareNotice
from models.role import Policy, Role, RolePolicy

__all__ = [
    "Account",
    "AccountKind",
    "AccountRole",
    "AccountToken",
    "AccountTokenPurpose",
    "AuditEntry",
    "AuditOutcome",
    "Environment",
    "EnvironmentGroup",
    "EnvironmentOperation",
    "EnvironmentStatus",
    "GroupEnvironment",
    "InvitationToken",
    "Member",
    "MemberStatus",
    "NotificationPreference",
    "OperationStatus",
    "OutboxJob",
    "OutboxStatus",
    "Policy",
    "Role",
    "RolePolicy",
    "SentEmail",
    "SentEmailStatus",
    "Session",
    "Share",
    "ShareNotice",
    "ShareRole",
    "ShareTargetType",
]
