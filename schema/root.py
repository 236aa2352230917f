"""The root schema, composed from each domain's query, mutation and subscription types."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from schema.accounts.mutations import AccountMutation
from schema.accounts.queries import AccountQuery
from schema.errors import HideInternalErrors
from schema.members.mutations import MemberMutation
from schema.members.queries import MemberQuery
from schema.permissions import RequiresPolicy
from schema.platform.mutations import PlatformMutation

QUERIES: tuple[type, ...] = (AccountQuery, MemberQuery,)
MUTATIONS: tuple[type, ...] = (AccountMutation, MemberMutation, PlatformMutation)
SUBSCRIPTIONS: tuple[type, ...] = ()

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    schema_directives=[RequiresPolicy],
    extensions=[HideInternalErrors],
)


def sdl() -> str:
    return schema.as_str()
