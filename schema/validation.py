"""Validation, cached by document and rules, with hostile documents kept off the event loop.

A document is first measured (schema.document_shape, linear in its text): one too big
once its fragments are spread, or repeating one name too often, is refused before any rule
walks it. A document seen before (the dashboard sends the same few) answers from the
cache. A new small one is validated in place; a new large one in a small thread pool of
its own, for `VALIDATION_TIMEOUT_SECONDS` at most: the gateway keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable
from typing import Any, NamedTuple

from graphql import DocumentNode, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from infra.settings import Settings
from schema.document_shape import limit_error, shape_refusal

# Below this many selections (fragments spread) validation takes well under a millisecond:
# a thread would cost more than it saves.
IN_PLACE_SELECTIONS = 300

# Its own threads: hostile documents never wait in front of password hashing.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="validation")


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    size: int


class ValidationResults:
    """A bounded LRU of validation errors by (document, rules, limits)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, list[GraphQLError]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> list[GraphQLError] | None:
        errors = self._entries.get(key)
        if errors is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return errors

    def put(self, key: Hashable, errors: list[GraphQLError]) -> None:
        self._entries[key] = errors
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self.hits, self.misses, len(self._entries))


RESULTS = ValidationResults(maxsize=256)


class LimitedValidation(SchemaExtension):
    """Replaces strawberry's ValidationCache (see the module docstring)."""

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        settings: Settings = context.context.settings
        document = context.graphql_document
        assert document is not None
        rules = context.validation_rules
        key = (document, rules, settings.MAX_QUERY_SELECTIONS, settings.MAX_REPEATED_FIELDS)
        errors = RESULTS.get(key)
        if errors is None:
            errors, keep = await _validate(context.schema._schema, document, rules, settings)
            if keep:
                RESULTS.put(key, errors)
        context.pre_execution_errors = errors
        yield


async def _validate(
    schema: Any, document: DocumentNode, rules: tuple[Any, ...], settings: Settings
) -> tuple[list[GraphQLError], bool]:
    """The errors, and whether they may be kept (a time-out depends on the moment)."""
    refusal, size = shape_refusal(
        document, settings.MAX_QUERY_SELECTIONS, settings.MAX_REPEATED_FIELDS
    )
    if refusal is not None:
        return [refusal], True
    if size <= IN_PLACE_SELECTIONS:
        return validate_document(schema, document, rules), True
    work = asyncio.get_running_loop().run_in_executor(
        _POOL, validate_document, schema, document, rules
    )
    try:
        return await asyncio.wait_for(work, settings.VALIDATION_TIMEOUT_SECONDS), True
    except TimeoutError:
        message = "The document took too long to validate; send a simpler one"
        return [limit_error("validation", message)], False
