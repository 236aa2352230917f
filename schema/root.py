"""The root schema, composed from each domain's query, mutation and subscription types."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from collab import outages
from schema.access.queries import AccessQuery
from schema.accounts.mutations import AccountMutation
from schema.accounts.queries import AccountQuery
from schema.audit.queries import AuditQuery
from schema.enums import serialize_enums_by_lookup
from schema.environments.groups import GroupMutation
from schema.environments.mutations import EnvironmentMutation
from schema.environments.queries import EnvironmentQuery
from schema.errors import SERVICE_UNAVAILABLE, HideInternalErrors
from schema.members.mutations import MemberMutation
from schema.members.queries import MemberQuery
from schema.metrics import OperationMetrics
from schema.notifications.queries import NotificationQuery
from schema.permissions import RequiresPolicy
from schema.platform.mutations import PlatformMutation
from schema.roles.mutations import RoleMutation
from schema.roles.queries import RoleQuery
from schema.subscriptions import SharedWithMeSubscription

log = logging.getLogger(__name__)

QUERIES: tuple[type, ...] = (AccountQuery, MemberQuery, NotificationQuery, RoleQuery,
                             EnvironmentQuery, AccessQuery, AuditQuery)  # fmt: skip
MUTATIONS: tuple[type, ...] = (AccountMutation, MemberMutation, PlatformMutation, RoleMutation,
                               EnvironmentMutation, GroupMutation)  # fmt: skip
SUBSCRIPTIONS: tuple[type, ...] = (SharedWithMeSubscription,)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None


class CollabSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """A dependency that is down is not a bug: no traceback per request (collab.outages
        logs the outage once); everything else is logged with its traceback."""
        unexpected = [e for e in errors if not _unavailable(e)]
        if len(unexpected) < len(errors):
            log.info("%d error(s) answered SERVICE_UNAVAILABLE", len(errors) - len(unexpected))
        super().process_errors(unexpected, execution_context)


def _unavailable(error: GraphQLError) -> bool:
    if (error.extensions or {}).get("code") == SERVICE_UNAVAILABLE:
        return True
    return error.original_error is not None and outages.unavailable(error.original_error)


schema = CollabSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    schema_directives=[RequiresPolicy],
    # OperationMetrics first: it sees the errors after HideInternalErrors has coded them.
    # Parsed and validated documents are kept by their text: clients send the same few.
    extensions=[
        OperationMetrics,
        HideInternalErrors,
        # A fresh extension per request; the caches behind them are shared per size.
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ],
)
serialize_enums_by_lookup(schema)


def sdl() -> str:
    return schema.as_str()
