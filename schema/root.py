"""The root schema, composed from each domain's query, mutation and subscription types."""

from __future__ import annotations

from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.access.queries import AccessQuery
from schema.accounts.mutations import AccountMutation
from schema.accounts.queries import AccountQuery
from schema.audit.queries import AuditQuery
from schema.environments.groups import GroupMutation
from schema.environments.mutations import EnvironmentMutation
from schema.environments.queries import EnvironmentQuery
from schema.errors import CollabSchema, HideInternalErrors
from schema.limits import SCALAR_MAP, QueryLimits
from schema.members.mutations import MemberMutation
from schema.members.queries import MemberQuery
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

schema = CollabSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    schema_directives=[RequiresPolicy],
    extensions=[HideInternalErrors, QueryLimits],
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
)


def sdl() -> str:
    return schema.as_str()
