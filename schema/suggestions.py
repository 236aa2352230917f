"""Production answers name no field, argument, type or enum value the caller did not name.

graphql-core's validation and variable coercion add "Did you mean ...?" to their errors,
which maps the schema for a caller production does not otherwise show it to (no
introspection there). Strawberry's `disable_field_suggestions` is per schema and covers
"Cannot query field" only; this extension is per request (`ENVIRONMENT`) and covers every
message, the suggestion cut and the rest of the error (code, locations) kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

# graphql-core's did_you_mean(): " Did you mean 'a', 'b', or 'c'?" (and "the enum value
# 'X'?"): names are GraphQL names, so the suggestion ends at the first question mark.
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def without_suggestion(error: GraphQLError) -> GraphQLError:
    message = SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path,
                        error.original_error, error.extensions)  # fmt: skip


class HideSuggestions(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if getattr(context.context, "settings", None) is None:
            return
        if context.context.settings.ENVIRONMENT != "production":
            return
        result = context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            # New error objects: the validation cache keeps (and shares) the originals.
            result.errors = [without_suggestion(e) for e in errors]
