"""GraphQL enums: the database enums themselves, registered with Strawberry.

`strawberry.enum` annotates the class in place, so the same class serves both layers and
the names cannot drift.
"""

from __future__ import annotations

import strawberry

from domain.access import AccessLevel, EmptyReason
from domain.errors import ErrorCode
from models.enums import AccountKind, AccountRole, AuditOutcome, EnvironmentStatus, MemberStatus

for _enum in (
    AccountKind, AccountRole, MemberStatus, EnvironmentStatus, AuditOutcome, AccessLevel,
    EmptyReason, ErrorCode,
):  # fmt: skip
    strawberry.enum(_enum)

__all__ = [
    "AccessLevel",
    "AccountKind",
    "AccountRole",
    "AuditOutcome",
    "EmptyReason",
    "EnvironmentStatus",
    "ErrorCode",
    "MemberStatus",
]
