"""The root schema, composed from each domain's query, mutation and subscription types."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import ParserCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.access.previews import PreviewQuery
from schema.access.queries import AccessQuery
from schema.accounts.mutations import AccountMutation
from schema.accounts.queries import AccountQuery
from schema.audit.queries import AuditQuery
from schema.enums import serialize_enums_by_lookup
from schema.environments.groups import GroupMutation
from schema.environments.mutations import EnvironmentMutation
from schema.environments.queries import EnvironmentQuery
from schema.errors import CollabSchema, HideInternalErrors
from schema.execution import PlainFieldExecutor
from schema.limits import SCALAR_MAP, QueryLimits
from schema.members.mutations import MemberMutation
from schema.members.queries import MemberQuery
from schema.metrics import OperationMetrics
from schema.notifications.queries import NotificationQuery
from schema.permissions import RequiresPolicy
from schema.platform.mutations import PlatformMutation
from schema.roles.mutations import RoleMutation
from schema.roles.queries import RoleQuery
from schema.subscriptions import SharedWithMeSubscription
from schema.suggestions import HideSuggestions
from schema.validation import LimitedValidation


class ParsedDocuments(ParserCache):
    """strawberry's ParserCache, but a document that does not parse (a syntax error, the
    token cap) is left to strawberry's own parse, which reports it as a request error
    (code VALIDATION): raised from the cache's hook it would skip the error handling."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        # A failed parse is not kept by the LRU either: strawberry parses it once more.
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


QUERIES: tuple[type, ...] = (AccountQuery, MemberQuery, NotificationQuery, RoleQuery,
                             EnvironmentQuery, AccessQuery, AuditQuery,
                             PreviewQuery)  # fmt: skip
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
    # OperationMetrics first: it sees the errors after HideInternalErrors has coded them.
    # Parsed and validated documents are kept by their text: clients send the same few.
    # QueryLimits runs first: it sets the parser's token cap and adds the limit rules,
    # which are part of both caches' keys (a cached answer never skips a limit).
    extensions=[
        OperationMetrics,
        HideInternalErrors,
        HideSuggestions,
        QueryLimits,
        # A fresh extension per request; the caches behind them are shared per size.
        lambda: ParsedDocuments(maxsize=256),
        LimitedValidation,
    ],
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
    execution_context_class=PlainFieldExecutor,
)
serialize_enums_by_lookup(schema)


def sdl() -> str:
    return schema.as_str()
