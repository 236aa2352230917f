"""The root schema, composed from each domain's query, mutation and subscription types."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from schema.access.queries import AccessQuery
from schema.accounts.mutations import AccountMutation
from schema.accounts.queries import AccountQuery
from schema.audit.queries import AuditQuery
from schema.environments.groups import GroupMutation
from schema.environments.mutations import EnvironmentMutation
from schema.environments.queries import EnvironmentQuery
from schema.errors import HideInternalErrors
from schema.members.mutations import MemberMutation
from schema.members.queries import MemberQuery
from schema.metrics import OperationMetrics
from schema.notifications.queries import NotificationQuery
from schema.permissions import RequiresPolicy
from schema.platform.mutations import PlatformMutation
from schema.roles.mutations import RoleMutation
from schema.roles.queries import RoleQuery
from schema.subscriptions import SharedWithMeSubscription

QUERIES: tuple[type, ...] = (AccountQuery, MemberQuery, NotificationQuery, RoleQuery,
                             EnvironmentQuery, AccessQuery, AuditQuery)  # fmt: skip
MUTATIONS: tuple[type, ...] = (AccountMutation, MemberMutation, PlatformMutation, RoleMutation,
                               EnvironmentMutation, GroupMutation)  # fmt: skip
SUBSCRIPTIONS: tuple[type, ...] = (SharedWithMeSubscription,)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    schema_directives=[RequiresPolicy],
    # OperationMetrics first: it sees the errors after HideInternalErrors has coded them.
    extensions=[OperationMetrics, HideInternalErrors],
)


def sdl() -> str:
    return schema.as_str()
