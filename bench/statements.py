"""SQL statements per query, in process: the count must not grow with the size (no N+1)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient

from gateway.auth import authenticate
from infra.settings import Settings
from schema.context import Context, Services
from schema.root import schema


@contextmanager
def wrapping(
    classes: Iterable[type], methods: Iterable[str], wrap: Callable[[Any], Any]
) -> Iterator[None]:
    """Each of `methods` that a class of `classes` defines itself, wrapped while active."""
    originals: list[tuple[type, str, Any]] = []
    for cls in classes:
        for name in methods:
            if name in cls.__dict__:
                original = cls.__dict__[name]
                originals.append((cls, name, original))
                setattr(cls, name, wrap(original))
    try:
        yield
    finally:
        for cls, name, original in originals:
            setattr(cls, name, original)


class StatementCounter:
    """Counts every statement sent through Tortoise's clients while active."""

    METHODS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many",
               "execute_script")  # fmt: skip

    def __init__(self) -> None:
        self.count = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        classes: set[type] = {type(Tortoise.get_connection("default")), BaseDBAsyncClient}
        with wrapping(classes, self.METHODS, self._wrap):
            yield

    def _wrap(self, original: Any) -> Any:
        counter = self

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            return await original(*args, **kwargs)

        return wrapper


async def count_statements(query: str, token: str, settings: Settings) -> int:
    """Statements one execution of `query` sends, as the holder of `token`."""
    account, _ = await authenticate(f"Bearer {token}")
    context = Context(
        services=Services(settings=settings, after_commit=None, limiter=None),  # type: ignore[arg-type]
        account=account,
    )
    counter = StatementCounter()
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)  # refused fields
    with counter.counting():
        result = await schema.execute(query, context_value=context)
    unexpected = [e for e in result.errors or [] if (e.extensions or {}).get("code") != "FORBIDDEN"]
    if unexpected:
        raise RuntimeError(f"query failed in process: {unexpected[:3]}")
    return counter.count
