"""Query limits: a hostile document is refused before any resolver runs, with a code.

One schema extension reads the limits from the request's settings and applies them to
every operation, HTTP and websocket alike: a token cap handed to the parser (so a huge
document stops being parsed early), then validation rules for depth, aliases, cost, input
lists and input strings. Each refusal is a GraphQL error with `extensions.code`
`VALIDATION` and `extensions.limit` naming the limit; nothing has executed.

Cost: every object in the answer counts 1 (its scalars come with it), times the size of
each list it sits inside. A list field's
size is its `first` argument when it has one (a connection's `edges` inherit it), else
`QUERY_LIST_WEIGHT`. That is what cuts the `Environment.groups` <->
`EnvironmentGroup.environments` cycle: each turn multiplies the cost. While executing, the
cost is estimated again with the real (average) sizes of the lists answered so far
(schema.execution), and the operation is refused as soon as that passes the ceiling.
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from domain.errors import ErrorCode
from infra.settings import Settings
from schema.document_shape import depth_and_aliases_rule, limit_error

# -- cost -----------------------------------------------------------------------------


def _size(field: FieldNode, variables: dict[str, Any], inherited: int | None, weight: int) -> int:
    for argument in field.arguments or ():
        if argument.name.value in ("first", "last"):
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(1, int(value.value))
            if isinstance(value, VariableNode):
                given = variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    return max(1, given)
    return inherited if inherited is not None else weight


def _is_list(field: GraphQLField) -> bool:
    return isinstance(get_nullable_type(field.type), GraphQLList)


class _Fragments:
    """What `_Cost` reads from a validation context, for use while executing."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema, self._fragments = schema, fragments

    def get_fragment(self, name: str) -> FragmentDefinitionNode | None:
        return self._fragments.get(name)


Sizes = Callable[[tuple[str, str]], int | None]


class _Cost:
    """Each fragment is costed once per page size it inherits, however often it is spread.
    `sizes` gives a list's real size by (parent type, field) where it is known."""

    def __init__(
        self, context: ValidationContext | _Fragments, variables: dict[str, Any], weight: int,
        sizes: Sizes | None = None,
    ) -> None:  # fmt: skip
        self.context, self.variables, self.weight = context, variables, weight
        self.sizes = sizes
        self._fragments: dict[tuple[str, int | None], int] = {}
        self._open: set[str] = set()  # a fragment cycle: NoFragmentCyclesRule reports it

    def of(self, selections: SelectionSetNode, parent: GraphQLNamedType, page: int | None) -> int:
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                total += self._field(node, parent, page)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                target = self.context.schema.get_type(condition.name.value) if condition else parent
                total += self.of(node.selection_set, target or parent, page)
            elif isinstance(node, FragmentSpreadNode):
                total += self._fragment(node.name.value, parent, page)
        return total

    def _fragment(self, name: str, parent: GraphQLNamedType, page: int | None) -> int:
        known = self._fragments.get((name, page))
        if known is not None:
            return known
        fragment = self.context.get_fragment(name)
        if fragment is None or name in self._open:  # other rules report these
            return 0
        target = self.context.schema.get_type(fragment.type_condition.name.value)
        self._open.add(name)
        try:
            cost = self._fragments[(name, page)] = self.of(
                fragment.selection_set, target or parent, page
            )
        finally:
            self._open.discard(name)
        return cost

    def _field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        field = parent.fields.get(name)
        if field is None or node.selection_set is None:
            return 0  # scalars come with the object that holds them
        child = get_named_type(field.type)
        # A connection's `first` sizes the list (its `edges`) beneath it.
        own_page = _size(node, self.variables, None, 0) or None
        if _is_list(field):
            known = self.sizes((parent.name, name)) if self.sizes is not None else None
            size = _size(node, self.variables, page, known or self.weight)
            return size * (1 + self.of(node.selection_set, child, None))
        return 1 + self.of(node.selection_set, child, own_page)


def cost_with_sizes(
    schema: GraphQLSchema, operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any], sizes: Sizes,
) -> int:  # fmt: skip
    """The cost with each list as big as `sizes` says (1 where unknown, `first` where
    given): the estimate made again with the caller's real data while executing."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return _Cost(_Fragments(schema, fragments), variables, 1, sizes).of(
        operation.selection_set, root, None
    )


def cost_rule(ceiling: int, weight: int, variables: dict[str, Any]) -> type[ValidationRule]:
    class CostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            if root is None:
                return
            cost = _Cost(self.context, variables, weight).of(node.selection_set, root, None)
            if cost > ceiling:
                self.report_error(limit_error(
                    "cost", f"The query would cost {cost}; the limit is {ceiling}", node
                ))  # fmt: skip

    return CostRule


# -- inputs ---------------------------------------------------------------------------


def _bad_value(value: Any, max_list: int, max_string: int) -> str | None:
    if isinstance(value, str):
        return _bad_string(value, max_string)
    if isinstance(value, list):
        if len(value) > max_list:
            return f"A list has more than {max_list} items"
        for item in value:
            if reason := _bad_value(item, max_list, max_string):
                return reason
    if isinstance(value, dict):
        for key, item in value.items():
            if reason := _bad_value(key, max_list, max_string) or _bad_value(
                item, max_list, max_string
            ):
                return reason
    return None


def _bad_string(value: str, max_string: int) -> str | None:
    if len(value) > max_string:
        return f"A string is longer than {max_string} characters"
    if "\x00" in value:
        return "A string contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "A string is not valid Unicode"
    return None


def input_rule(max_list: int, max_string: int, variables: dict[str, Any]) -> type[ValidationRule]:
    class InputRule(ValidationRule):
        def enter_document(self, node: Any, *_: Any) -> None:
            if reason := _bad_value(variables, max_list, max_string):
                self.report_error(limit_error("input", f"{reason} (in the variables)"))

        def enter_list_value(self, node: ListValueNode, *_: Any) -> None:
            if len(node.values) > max_list:
                self.report_error(
                    limit_error("input", f"A list has more than {max_list} items", node)
                )

        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            if reason := _bad_string(node.value, max_string):
                self.report_error(limit_error("input", reason, node))

    return InputRule


def _parse_datetime(value: Any) -> datetime.datetime:
    """ISO 8601 with a time zone, within the range every database and UTC can hold."""
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("Expected an ISO 8601 date-time string")
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("Dates need a time zone")
    try:
        utc = moment.astimezone(datetime.UTC)
    except OverflowError:
        raise ValueError("Date out of range") from None
    if not 1900 <= utc.year <= 9000:
        raise ValueError("Date out of range")
    return moment


DateTime = strawberry.scalar(
    name="DateTime", description="Date with time (isoformat)",
    serialize=datetime.datetime.isoformat, parse_value=_parse_datetime,
)  # fmt: skip
SCALAR_MAP: dict[object, Any] = {datetime.datetime: DateTime}


# -- the extension --------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _fixed_rules(depth: int, aliases: int) -> tuple[type[ValidationRule], ...]:
    return (depth_and_aliases_rule(depth, aliases),)


@functools.lru_cache(maxsize=256)
def _variable_rules(
    ceiling: int, weight: int, max_list: int, max_string: int, variables: str
) -> tuple[type[ValidationRule], ...]:
    """The rules that read the variables, one pair of classes per distinct set: the
    validation cache keys on the rule classes, so fresh classes per request would make it
    miss every time (the dashboard's queries send the same variables, or none)."""
    values = json.loads(variables)
    return (cost_rule(ceiling, weight, values), input_rule(max_list, max_string, values))


def _frozen(variables: dict[str, Any]) -> str | None:
    try:
        return json.dumps(variables, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None


class QueryLimits(SchemaExtension):
    """Applies the request's `Settings` limits to the operation (HTTP and websocket)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        settings: Settings = context.context.settings
        variables = context.variables or {}
        context.parse_options["max_tokens"] = settings.MAX_QUERY_TOKENS
        frozen = _frozen(variables) if len(str(variables)) <= 4_096 else None
        if frozen is not None:
            by_variables = _variable_rules(settings.MAX_QUERY_COST, settings.QUERY_LIST_WEIGHT,
                                           settings.MAX_INPUT_LIST, settings.MAX_INPUT_STRING,
                                           frozen)  # fmt: skip
        else:  # large or odd variables: checked, never cached
            by_variables = (
                cost_rule(settings.MAX_QUERY_COST, settings.QUERY_LIST_WEIGHT, variables),
                input_rule(settings.MAX_INPUT_LIST, settings.MAX_INPUT_STRING, variables),
            )
        rules: list[type[ValidationRule]] = [
            *_fixed_rules(settings.MAX_QUERY_DEPTH, settings.MAX_QUERY_ALIASES),
            *by_variables,
        ]
        if settings.ENVIRONMENT == "production":
            rules.append(NoSchemaIntrospectionCustomRule)
        context.validation_rules = (*context.validation_rules, *rules)
        yield


_LIMIT_MESSAGES = {
    "exceeds maximum operation depth": "depth",
    "aliases found. allowed": "aliases",
    "tokens.": "tokens",  # graphql-core: "Document contains more than N tokens."
}


def request_error_extensions(error: GraphQLError) -> dict[str, Any]:
    """For an error raised before execution (syntax, validation, variables): the VALIDATION
    code, and for the strawberry limiters' refusals the name of their limit."""
    extensions: dict[str, Any] = {"code": ErrorCode.VALIDATION.value, **(error.extensions or {})}
    message = error.message.lower()
    for phrase, limit in _LIMIT_MESSAGES.items():
        if phrase in message:
            extensions.setdefault("limit", limit)
    return extensions
