"""The executor: graphql-core's own, with plain fields completed in one step.

Profiled on the cold dashboard at 1,000 environments (cProfile through the ASGI app):
graphql-core spends about ten Python calls on every field and on every list item (the
resolve info, Strawberry's resolver chain, a `Path`, completion through NonNull, List and
leaf, two awaitable checks), and a page of 2,000 environments has 10,000 fields and
23,000 policy names. A *plain* field, a Strawberry field with no resolver, no extension and
no arguments whose type is a scalar, an enum or a list of them, needs one `getattr` and
one coercion per value, which is what it gets here (a custom scalar's value is checked
first and its coercion after).

Anything unusual, such as a null where the type forbids one, a value the type cannot
coerce, an exception or something other than a list, goes through graphql-core's path for
that field. That path raises the error at the right place, so the answer, errors included,
is the same either way (tests/test_execution.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
    specified_scalar_types,
)
from graphql.pyutils import Undefined

from schema.adapters.strawberry_graphql import (
    FALLBACK,
    ShortcutExecutor,
    resolves_by_attribute,
    strawberry_field,
)

# Coercions that raise rather than answer None (specified_scalar_types maps names to types).
_BUILT_IN = frozenset(id(scalar) for scalar in specified_scalar_types.values())


_FALLBACK = FALLBACK  # the shortcut leaves the value to graphql-core


@dataclass(frozen=True, slots=True)
class PlainField:
    """How to complete one plain field: the attribute, the coercion, the nullability."""

    attribute: str
    coerce: Callable[[Any], Any]
    non_null: bool
    is_list: bool
    item_non_null: bool
    text: bool  # String or ID: a str is its own coercion
    # A custom scalar: its coercion may accept anything (an awaitable too) and answer None
    # or Undefined, which graphql-core turns into errors; each value is checked.
    strict: bool

    def complete(self, source: Any) -> Any:
        try:
            value = getattr(source, self.attribute)
            if value is None:
                return _FALLBACK if self.non_null else None
            if not self.is_list:
                if self.text and type(value) is str:
                    return value
                if self.strict:
                    return self._checked(value)
                coerced = self.coerce(value)
                return _FALLBACK if coerced is None else coerced
            if type(value) is not list and type(value) is not tuple:
                return _FALLBACK
            coerce = self.coerce
            if self.text:
                coerced_items = [v if type(v) is str else coerce(v) for v in value]
            elif self.strict:
                coerced_items = [self._checked(v) for v in value]
                return _FALLBACK if _FALLBACK in coerced_items else coerced_items
            else:
                coerced_items = [coerce(v) for v in value]
        except Exception:  # graphql-core's path raises it again, where it belongs
            return _FALLBACK
        # A null item (from a null in the list) is an error under a non-null item type and
        # was coerced by a scalar that refuses null otherwise: either way, the long path.
        return _FALLBACK if None in coerced_items else coerced_items

    def _checked(self, value: Any) -> Any:
        if value is None or hasattr(type(value), "__await__"):
            return _FALLBACK
        coerced = self.coerce(value)
        return _FALLBACK if coerced is None or coerced is Undefined else coerced


def plain_field(field: GraphQLField) -> PlainField | None:
    """The plan for a field, or None when it needs graphql-core's full path."""
    definition = strawberry_field(field)
    if definition is None or field.args:
        return None
    if not definition.is_basic_field or not resolves_by_attribute(field):
        return None  # a resolver, an extension, an exception handler: Strawberry's path
    if definition.default_resolver is not getattr or not definition.python_name:
        return None
    kind: GraphQLOutputType = field.type
    non_null = isinstance(kind, GraphQLNonNull)
    kind = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    is_list = isinstance(kind, GraphQLList)
    item_non_null = False
    if isinstance(kind, GraphQLList):
        kind = kind.of_type
        item_non_null = isinstance(kind, GraphQLNonNull)
        kind = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if not isinstance(kind, GraphQLEnumType | GraphQLScalarType):
        return None  # an object, an interface, a union, a list of lists
    # Built-in scalars and enums raise on a value they cannot represent.
    strict = not (isinstance(kind, GraphQLEnumType) or id(kind) in _BUILT_IN)
    text = kind is GraphQLString or kind is GraphQLID
    return PlainField(definition.python_name, kind.coerce_output_value, non_null, is_list,
                      item_non_null, text, strict)  # fmt: skip


_PLANS: dict[int, tuple[GraphQLField, PlainField | None]] = {}


def _plan(field: GraphQLField) -> PlainField | None:
    """Memoised per field of the (one, long-lived) schema; the field is kept with its plan
    so that its id cannot be reused."""
    entry = _PLANS.get(id(field))
    if entry is None:
        entry = _PLANS[id(field)] = (field, plain_field(field))
    return entry[1]


class PlainFieldExecutor(ShortcutExecutor):
    """Strawberry's executor; plain fields take the short path (the executor's private
    hooks live in schema.adapters.strawberry_graphql)."""

    plan = staticmethod(_plan)
