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

Every field and list item counts against `MAX_RESPONSE_VALUES` as the answer is built: a
cycle of lists (environments -> groups -> environments) answered from real data grows
with the product of the lists' sizes, which no estimate made before execution knows. Past
the ceiling the whole operation is refused (VALIDATION, `extensions.limit` "response"),
long before the answer fills memory or holds the event loop.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
    specified_scalar_types,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path, Undefined

from domain.errors import ErrorCode
from schema.adapters.strawberry_graphql import (
    FALLBACK,
    ShortcutExecutor,
    resolves_by_attribute,
    strawberry_field,
)
from schema.document_shape import DocumentShape
from schema.limits import cost_with_sizes

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


class ResponseTooLarge(BaseException):
    """Not an Exception: graphql-core turns those into one field's error and carries on
    with its siblings; this one has to stop the whole operation. Holds the refusal."""


def cost_too_high(cost: int, ceiling: int) -> GraphQLError:
    return GraphQLError(
        f"With the sizes of your data the query would cost {cost}; the limit is {ceiling}",
        extensions={"code": ErrorCode.VALIDATION.value, "limit": "cost"},
    )


def response_too_large(ceiling: int) -> GraphQLError:
    return GraphQLError(
        f"The answer would hold more than {ceiling} values; ask for less (fewer nested "
        "lists, smaller pages)",
        extensions={"code": ErrorCode.VALIDATION.value, "limit": "response"},
    )


class PlainFieldExecutor(ShortcutExecutor):
    """Strawberry's executor; plain fields take the short path (the executor's private
    hooks live in schema.adapters.strawberry_graphql), and the answer's size is counted
    while it is built."""

    plan = staticmethod(_plan)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = getattr(self.context_value, "settings", None)
        self._ceiling: int | None = getattr(settings, "MAX_RESPONSE_VALUES", None)
        self._values_left = self._ceiling if self._ceiling is not None else sys.maxsize
        self._max_cost: int | None = getattr(settings, "MAX_QUERY_COST", None)
        # Per (parent type, field): items and lists answered so far, and the size the
        # last estimate used.
        self._answered: dict[tuple[str, str], tuple[int, int]] = {}
        self._sizes: dict[tuple[str, str], int] = {}
        self._widths: dict[int, int] = {}
        self._kept: list[FieldDetailsList] = []
        self._shape: DocumentShape | None = None

    def _count(self, values: int) -> None:
        self._values_left -= values
        if self._values_left < 0:
            raise ResponseTooLarge(response_too_large(self._ceiling or 0))

    def _answered_list(self, parent: str, field: str, size: int) -> None:
        """The cost estimated again when a list is on average bigger than last assumed."""
        if self._max_cost is None:
            return
        key = (parent, field)
        items, lists = self._answered.get(key, (0, 0))
        items, lists = items + size, lists + 1
        self._answered[key] = (items, lists)
        average = -(-items // lists)
        if average <= self._sizes.get(key, 1):
            return
        self._sizes[key] = average
        fragments = {name: f.definition for name, f in self.fragments.items()}
        cost = cost_with_sizes(self.schema, self.operation, fragments, self.variable_values.coerced,
                               self._sizes.get)  # fmt: skip
        if cost > self._max_cost:
            raise ResponseTooLarge(cost_too_high(cost, self._max_cost))

    def _width(self, field_details_list: FieldDetailsList) -> int:
        width = self._widths.get(id(field_details_list))
        if width is None:
            if self._shape is None:
                fragments = {name: f.definition for name, f in self.fragments.items()}
                self._shape = DocumentShape(DocumentNode(definitions=()), fragments)
            width = sum(
                self._shape.of(d.node.selection_set).nodes
                for d in field_details_list
                if d.node.selection_set is not None
            )
            self._widths[id(field_details_list)] = width
            self._kept.append(field_details_list)  # its id stays its own
        return width

    def execute_operation(self, serially: bool | None = None) -> AwaitableOrValue[Any]:
        try:
            result = super().execute_operation(serially)
        except ResponseTooLarge as refusal:
            return ExecutionResult(None, [refusal.args[0]])
        if not self.is_awaitable(result):
            return result

        async def refused_when_too_large() -> Any:
            try:
                return await result
            except ResponseTooLarge as refusal:
                return ExecutionResult(None, [refusal.args[0]])

        return refused_when_too_large()

    def complete_list_value(self, return_type: Any, field_details_list: FieldDetailsList,
                            info: Any, path: Path, result: Any,
                            position_context: Any) -> Any:  # fmt: skip
        if type(result) is list or type(result) is tuple:
            # Each item will answer at least its selection once (every list below it
            # counted one item): counted now, before any of it is resolved.
            self._count(len(result) * (1 + self._width(field_details_list)))
            self._answered_list(info.parent_type.name, info.field_name, len(result))
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        self._values_left -= 1  # _count(1), inline: this runs for every field
        if self._values_left < 0:
            raise ResponseTooLarge(response_too_large(self._ceiling or 0))
        plan = self._shortcut(parent_type, field_details_list)
        if plan is not None:
            value = plan.complete(source)
            if value is not _FALLBACK:
                if type(value) is list:
                    self._count(len(value))
                return value
        # Past ShortcutExecutor's own execute_field: the shortcut was tried just above.
        return super(ShortcutExecutor, self).execute_field(
            parent_type, source, field_details_list, path, position_context
        )
