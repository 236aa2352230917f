"""The plain-field executor answers exactly what graphql-core's own path answers, errors
(message, path, nulls bubbling up) included, and takes the short path where it should."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import Enum
from types import SimpleNamespace
from typing import Any, NewType

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.execution import PlainFieldExecutor, plain_field


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


# A custom scalar whose coercion answers None for some values and accepts anything else.
Loose = NewType("Loose", object)
SCALARS = StrawberryConfig(scalar_map={Loose: strawberry.scalar(
    name="Loose", serialize=lambda v: None if v == "none" else str(v))})  # fmt: skip


@strawberry.type
class Item:
    name: str
    nickname: str | None
    colour: Colour
    tags: list[str]
    maybe_tags: list[str | None] | None
    count: int
    seen_at: datetime
    loose: Loose | None
    looses: list[Loose] | None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


SOURCES: list[Any] = []


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return SOURCES

    @strawberry.field
    def loose(self) -> list[Item | None]:
        return SOURCES


plain_schema = strawberry.Schema(
    query=Query, execution_context_class=PlainFieldExecutor, config=SCALARS
)
core_schema = strawberry.Schema(query=Query, config=SCALARS)

FIELDS = "name nickname colour tags maybeTags count seenAt loose looses shout"


def item(**changes: Any) -> SimpleNamespace:
    values: dict[str, Any] = dict(
        name="web", nickname=None, colour=Colour.RED, tags=["a", "b"], maybe_tags=None,
        count=3, seen_at=datetime(2026, 12, 1, tzinfo=UTC), loose=1, looses=[1, "a"],
    )  # fmt: skip
    return SimpleNamespace(**(values | changes))


class Exploding:
    """A source whose attribute read fails."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name} today")


async def answers(query: str, sources: Callable[[], list[Any]]) -> list[Any]:
    results = []
    for schema in (plain_schema, core_schema):
        SOURCES[:] = sources()  # fresh: a generator is read once
        result = await schema.execute(query)
        errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or ())
        results.append((result.data, errors))
    return results


def generator_of_tags() -> Iterator[str]:
    yield from ("x", "y")


class Awaited:
    """A value computed only when awaited, like the lazy `Later` fields of the schema."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        async def compute() -> Any:
            return self.value

        return compute().__await__()


CASES: dict[str, Callable[[], list[Any]]] = {
    "good": lambda: [item(), item(name="db", nickname="primary", colour=Colour.BLUE, tags=[])],
    "null-name": lambda: [item(name=None)],  # null in a non-null field: the item nulls too
    "null-tag": lambda: [item(tags=["a", None])],  # null in a non-null list item
    "str-as-list": lambda: [item(tags="abc")],  # a string is no list
    "iterables": lambda: [item(tags=generator_of_tags()), item(tags=("t",)), item(tags={"s"})],
    "bad-enum": lambda: [item(colour="purple")],  # not an enum member
    "bad-int": lambda: [item(count="three")],
    "big-int": lambda: [item(count=2**40)],  # beyond GraphQL's 32-bit Int
    "nullable-items": lambda: [item(maybe_tags=[None, "a"])],  # nulls allowed here
    "coerced-tags": lambda: [item(tags=[1, True, 2.5])],  # String coerces numbers, booleans
    "int-name": lambda: [item(name=7)],
    "exploding": lambda: [Exploding()],
    "mixed": lambda: [item(), Exploding(), item(nickname="n")],
    "awaited": lambda: [item(tags=Awaited(["later"]), name=Awaited("w"), count=Awaited(None))],
    "bad-datetime": lambda: [item(seen_at="yesterday")],
    "awaited-custom": lambda: [
        item(seen_at=Awaited(datetime(2026, 1, 1)), loose=Awaited(2), looses=[Awaited(3), 4])
    ],
    "custom-none": lambda: [item(loose="none"), item(looses=["a", "none"])],
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("root", ["items", "loose"])
async def test_same_answer_and_errors_as_graphql_core(case: str, root: str):
    plain, core = await answers(f"{{ {root} {{ {FIELDS} }} }}", CASES[case])
    assert plain == core


async def test_aliases_directives_and_typename_answer_the_same():
    query = (
        "query($no: Boolean = false) { items { a: name b: name __typename "
        "tags @include(if: $no) colour @skip(if: $no) } }"
    )
    plain, core = await answers(query, lambda: [item(), item(name="x")])
    assert plain == core
    assert plain[0] == {"items": [{"a": "web", "b": "web", "__typename": "Item", "colour": "RED"},
                                  {"a": "x", "b": "x", "__typename": "Item", "colour": "RED"}]}  # fmt: skip


def test_plain_fields_take_the_short_path_and_others_do_not():
    fields = plain_schema._schema.type_map["Item"].fields  # type: ignore[union-attr]
    assert all(plain_field(fields[n]) for n in ("name", "nickname", "colour", "tags", "count"))
    assert plain_field(fields["seenAt"]) and plain_field(fields["looses"])  # custom scalars
    assert plain_field(fields["shout"]) is None  # a resolver


def test_the_dashboards_environment_fields_are_plain():
    """If Strawberry changed how it marks a field without a resolver, the dashboard would
    quietly lose its short path: this catches it."""
    from schema.root import schema

    env = schema._schema.type_map["Environment"].fields  # type: ignore[union-attr]
    for name in ("id", "name", "displayName", "status", "myPolicies"):
        assert plain_field(env[name]) is not None, name
    assert plain_field(env["sshAccess"]) is None  # guarded by @requiresPolicy
