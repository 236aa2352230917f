"""GraphQL enums: the database enums themselves, registered with Strawberry.

`strawberry.enum` annotates the class in place, so the same class serves both layers and
the names cannot drift.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLEnumType

from domain.access import AccessLevel, EmptyReason
from domain.errors import ErrorCode
from models.enums import (
    AccountKind,
    AccountRole,
    AuditOutcome,
    EnvironmentStatus,
    MemberStatus,
    NotificationPreference,
    OperationStatus,
)
from schema.adapters.strawberry_graphql import graphql_schema, replace_output_coercion

for _enum in (
    AccountKind, AccountRole, MemberStatus, EnvironmentStatus, AuditOutcome, AccessLevel,
    EmptyReason, ErrorCode,
):  # fmt: skip
    strawberry.enum(_enum)
strawberry.enum(
    OperationStatus,
    description="Where a platform action stands: PENDING (recorded), RUNNING (the platform "
    "is being asked), SUCCEEDED or FAILED (see EnvironmentOperation.error).",
)
strawberry.enum(
    NotificationPreference,
    description="How an account hears about environments newly shared with it: EACH, one "
    "email per environment; DIGEST, one email per change listing them; OFF, no share emails "
    "(invitations, decisions, trial notices and alerts are sent as before).",
)

__all__ = [
    "AccessLevel",
    "AccountKind",
    "AccountRole",
    "AuditOutcome",
    "EmptyReason",
    "EnvironmentStatus",
    "ErrorCode",
    "MemberStatus",
    "NotificationPreference",
    "OperationStatus",
]


def member_names(enum: type[Enum]) -> dict[Any, str]:
    """Each member to its GraphQL name (our enums' members are named as in the schema)."""
    return {member: member.name for member in enum}


def serialize_enums_by_lookup(schema: strawberry.Schema) -> None:
    """Serialize our enums with one dict look-up.

    Strawberry's enum type compares the value against every member in turn; on a page of a
    thousand environments that loop was 6 % of the dashboard's time (profiled). Our enums
    map each member to its own name, so the look-up gives the same answer; anything else
    still goes through Strawberry's own path. The hook into graphql-core's leaf completion
    is private (schema.adapters.strawberry_graphql); tests/test_adapters.py checks that
    completing an enum field really goes through the look-up.
    """
    ours = {e.__name__: e for e in (AccountKind, AccountRole, MemberStatus, EnvironmentStatus,
                                    AuditOutcome, AccessLevel, EmptyReason, ErrorCode,
                                    NotificationPreference, OperationStatus)}  # fmt: skip
    type_map = graphql_schema(schema).type_map
    for name, enum in ours.items():
        graphql_type = type_map.get(name)
        if not isinstance(graphql_type, GraphQLEnumType):
            continue
        names = member_names(enum)
        slow = graphql_type.coerce_output_value

        def coerce(value: object, names: dict = names, slow: Any = slow) -> Any:
            try:
                return names[value]
            except (KeyError, TypeError):
                return slow(value)

        replace_output_coercion(graphql_type, coerce)
