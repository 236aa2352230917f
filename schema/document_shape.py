"""The shape of a document, measured once per fragment: how big it is with every spread
expanded, how deep, how many aliases, how often one response name repeats.

Rules that walk every spread separately take time doubling with each fragment that
spreads the next one twice (`fragment F0 on Query { ...F1 ...F1 }`, twenty-two of them:
four million expansions from 817 bytes). Here each fragment is measured once and its
measure reused wherever it is spread, so the walk is linear in the document's text, and a
document whose expansion is too big is refused before any other rule walks it.

The repeated-name count bounds graphql-core's OverlappingFieldsCanBeMergedRule, which
compares every pair of fields answering at one response path (`{ me { id } me { id } ...
}`, quadratic: 400 of them cost a second; nested repeats multiply).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

from domain.errors import ErrorCode

# Selection sets nested deeper than this (fields, inline fragments and spreads alike) are
# refused outright: far beyond any depth limit, and short of Python's recursion limit.
MAX_NESTING = 100


def limit_error(limit: str, message: str, nodes: Any = None) -> GraphQLError:
    return GraphQLError(
        message, nodes, extensions={"code": ErrorCode.VALIDATION.value, "limit": limit}
    )


@dataclass(frozen=True, slots=True)
class Measure:
    nodes: int  # selections, every spread expanded
    depth: int  # nested fields, as strawberry's depth limiter counts them
    aliases: int  # aliased fields, every spread expanded


_NOTHING = Measure(0, 0, 0)


class _TooNested(Exception):
    pass


class DocumentShape:
    """Measures of one document; every fragment is walked once."""

    def __init__(
        self, document: DocumentNode, fragments: dict[str, FragmentDefinitionNode] | None = None
    ) -> None:
        self.document = document
        self.fragments = fragments if fragments is not None else {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }  # fmt: skip
        self._measures: dict[str, Measure] = {}
        self._open: set[str] = set()  # a fragment cycle: NoFragmentCyclesRule reports it

    @property
    def operations(self) -> list[OperationDefinitionNode]:
        return [d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)]

    def of_fragment(self, name: str, level: int = 0) -> Measure:
        measure = self._measures.get(name)
        if measure is not None:
            return measure
        fragment = self.fragments.get(name)
        if fragment is None or name in self._open:
            return _NOTHING
        self._open.add(name)
        try:
            measure = self._measures[name] = self.of(fragment.selection_set, level)
        finally:
            self._open.discard(name)
        return measure

    def of(self, selections: SelectionSetNode, level: int = 0) -> Measure:
        if level > MAX_NESTING:
            raise _TooNested
        nodes = depth = aliases = 0
        for node in selections.selections:
            nodes += 1
            if isinstance(node, FieldNode):
                aliases += node.alias is not None
                if node.selection_set is not None:
                    inner = self.of(node.selection_set, level + 1)
                    nodes, aliases = nodes + inner.nodes, aliases + inner.aliases
                    if not node.name.value.startswith("__"):
                        depth = max(depth, 1 + inner.depth)
                continue
            if isinstance(node, InlineFragmentNode):
                inner = self.of(node.selection_set, level + 1)
            elif isinstance(node, FragmentSpreadNode):
                inner = self.of_fragment(node.name.value, level + 1)
            else:  # pragma: no cover - the three kinds of selection
                continue
            nodes, aliases = nodes + inner.nodes, aliases + inner.aliases
            depth = max(depth, inner.depth)
        return Measure(nodes, depth, aliases)

    def repeats(self, limit: int) -> tuple[str, int] | None:
        """The first response path answered by more than `limit` fields (spreads and inline
        fragments merged, nested repeats multiplied), with its count; None if none is.
        graphql-core compares every pair of fields answering at one path."""
        pending: list[tuple[str, list[SelectionSetNode]]] = [
            ("", [op.selection_set]) for op in self.operations
        ]
        while pending:
            path, sets = pending.pop()
            groups: dict[str, list[SelectionSetNode]] = {}
            counts: Counter[str] = Counter()
            for selections in sets:
                self._merge(selections, counts, groups, set())
            for name, count in counts.items():
                if count > limit:
                    return f"{path}{name}", count
            pending.extend((f"{path}{name}.", group) for name, group in groups.items())
        return None

    def _merge(
        self, selections: SelectionSetNode, counts: Counter[str],
        groups: dict[str, list[SelectionSetNode]], spread: set[str],
    ) -> None:  # fmt: skip
        for node in selections.selections:
            if isinstance(node, FieldNode):
                name = (node.alias or node.name).value
                counts[name] += 1
                if node.selection_set is not None:
                    groups.setdefault(name, []).append(node.selection_set)
            elif isinstance(node, InlineFragmentNode):
                self._merge(node.selection_set, counts, groups, spread)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is not None and node.name.value not in spread:
                    spread.add(node.name.value)
                    self._merge(fragment.selection_set, counts, groups, spread)

    def unused_fragment(self) -> str | None:
        """A fragment no operation spreads (invalid anyway; refused before it is walked)."""
        reached: set[str] = set()
        stack = [op.selection_set for op in self.operations]
        while stack:
            for node in stack.pop().selections:
                if isinstance(node, FragmentSpreadNode):
                    fragment = self.fragments.get(node.name.value)
                    if fragment is not None and node.name.value not in reached:
                        reached.add(node.name.value)
                        stack.append(fragment.selection_set)
                elif isinstance(node, FieldNode | InlineFragmentNode) and node.selection_set:
                    stack.append(node.selection_set)
        return next((name for name in self.fragments if name not in reached), None)


def shape_refusal(
    document: DocumentNode, max_nodes: int, max_repeated: int
) -> tuple[GraphQLError | None, int]:
    """Why the document is too big to validate (or None), and its selections with every
    fragment spread. Linear in the document's text."""
    shape = DocumentShape(document)
    try:
        largest = max((shape.of_fragment(name).nodes for name in shape.fragments), default=0)
        nodes = sum(shape.of(op.selection_set).nodes for op in shape.operations)
    except _TooNested:
        error = limit_error("depth", f"Selections are nested more than {MAX_NESTING} levels deep")
        return error, 0
    if max(nodes, largest) > max_nodes:
        return limit_error(
            "selections",
            f"The document expands to {max(nodes, largest)} selections once its fragments "
            f"are spread; the limit is {max_nodes}",
        ), nodes
    if (repeated := shape.repeats(max_repeated)) is not None:
        path, count = repeated
        return limit_error(
            "selections",
            f"`{path}` is selected {count} times (fragments spread); the limit is {max_repeated}",
        ), nodes
    if (unused := shape.unused_fragment()) is not None:
        return GraphQLError(f"Fragment '{unused}' is never used."), nodes
    return None, nodes


def depth_and_aliases_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """strawberry's depth and alias limits, counted alike, with each fragment walked once."""

    class DepthAndAliases(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            shape = DocumentShape(context.document)
            total_aliases = 0
            try:
                for operation in shape.operations:
                    measure = shape.of(operation.selection_set)
                    total_aliases += measure.aliases
                    if measure.depth > max_depth:
                        name = operation.name.value if operation.name else "anonymous"
                        context.report_error(limit_error(
                            "depth", f"'{name}' exceeds maximum operation depth of {max_depth}",
                            operation,
                        ))  # fmt: skip
            except _TooNested:
                context.report_error(limit_error(
                    "depth", f"Selections are nested more than {MAX_NESTING} levels deep"
                ))  # fmt: skip
                return
            if total_aliases > max_aliases:
                context.report_error(limit_error(
                    "aliases", f"{total_aliases} aliases found. Allowed: {max_aliases}"
                ))  # fmt: skip

    return DepthAndAliases
