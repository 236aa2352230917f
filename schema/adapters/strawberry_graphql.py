"""Strawberry and graphql-core below their public extension points: the executor's
per-field shortcut and the enum output shortcut (schema.execution, schema.enums).

Relied on (strawberry-graphql 0.341, graphql-core 3.3):
- `strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext`, Strawberry's
  executor (not exported), and graphql-core's `execute_field(parent_type, source,
  field_details_list, path, position_context)`, called once per field of a selection;
- the GraphQL field's `extensions["strawberry-definition"]` (the StrawberryField) and the
  name of the resolver Strawberry gives a field without one (`_get_basic_result`);
- `Schema._schema` (the graphql-core schema) and graphql-core completing every leaf with
  `type.coerce_output_value(value)`, which is what the enum shortcut replaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import strawberry
from graphql import GraphQLEnumType, GraphQLField, GraphQLObjectType, GraphQLSchema
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from infra.adapters import AdapterBroken, require_attribute, require_parameters

ADAPTER = "schema.adapters.strawberry_graphql"
_DEFINITION = "strawberry-definition"  # where Strawberry keeps a GraphQL field's own field
_DEFAULT_RESOLVER = "_get_basic_result"  # Strawberry's resolver for a field without one


class _Fallback:
    """Marks a value the shortcut leaves to graphql-core."""


FALLBACK: Any = _Fallback()


class Shortcut(Protocol):
    def complete(self, source: Any) -> Any:
        """The field's completed value, or FALLBACK for graphql-core's own path."""


def strawberry_field(field: GraphQLField) -> StrawberryField | None:
    definition = field.extensions.get(_DEFINITION)
    return definition if isinstance(definition, StrawberryField) else None


def resolves_by_attribute(field: GraphQLField) -> bool:
    """The field has Strawberry's default resolver: nothing of ours runs for it."""
    return getattr(field.resolve, "__name__", "") == _DEFAULT_RESOLVER


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    return schema._schema


def replace_output_coercion(graphql_type: GraphQLEnumType, coerce: Callable[[Any], Any]) -> None:
    """graphql-core completes each value of the type with `coerce`."""
    graphql_type.coerce_output_value = coerce  # type: ignore[method-assign,assignment]


class ShortcutExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; a field whose `plan` gives a shortcut is completed by it
    when nothing can differ: no middleware wraps resolvers, and the field has no
    arguments or directives here. The shortcut answers FALLBACK for anything unusual."""

    @staticmethod
    def plan(field: GraphQLField) -> Shortcut | None:
        return None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._plain_allowed = manager is None or not manager.middlewares
        # Per field group of this operation (graphql-core memoises the groups themselves),
        # with the group and its parent type: a group's id is only reused for the same one.
        self._groups: dict[int, tuple[FieldDetailsList, GraphQLObjectType, Shortcut | None]]
        self._groups = {}

    def _shortcut(self, parent_type: GraphQLObjectType,
                  field_details_list: FieldDetailsList) -> Shortcut | None:  # fmt: skip
        entry = self._groups.get(id(field_details_list))
        if entry is None or entry[1] is not parent_type:
            plan = None
            if self._plain_allowed and not any(
                d.node.arguments or d.node.directives for d in field_details_list
            ):
                field = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
                plan = self.plan(field) if field is not None else None
            entry = (field_details_list, parent_type, plan)
            self._groups[id(field_details_list)] = entry
        return entry[2]

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        plan = self._shortcut(parent_type, field_details_list)
        if plan is not None:
            value = plan.complete(source)
            if value is not FALLBACK:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


def verify() -> None:
    """What the shortcuts rely on, checked on a one-field schema."""
    require_attribute(ADAPTER, StrawberryGraphQLCoreExecutionContext, "execute_field")
    require_parameters(ADAPTER, StrawberryGraphQLCoreExecutionContext.execute_field,
                       "parent_type", "source", "field_details_list", "path",
                       "position_context")  # fmt: skip
    require_attribute(ADAPTER, GraphQLSchema, "get_field")
    require_attribute(ADAPTER, GraphQLEnumType, "coerce_output_value")

    @strawberry.type
    class Probe:
        name: str

    schema = strawberry.Schema(query=Probe)
    inner = getattr(schema, "_schema", None)
    if not isinstance(inner, GraphQLSchema):
        raise AdapterBroken(ADAPTER, "strawberry.Schema._schema is not the graphql-core schema")
    field = inner.query_type.fields["name"] if inner.query_type else None
    if field is None or strawberry_field(field) is None:
        raise AdapterBroken(ADAPTER, f"fields no longer carry extensions[{_DEFINITION!r}]")
    if not resolves_by_attribute(field):
        raise AdapterBroken(
            ADAPTER, f"a field without a resolver no longer resolves by {_DEFAULT_RESOLVER}"
        )
