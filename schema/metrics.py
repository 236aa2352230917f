"""Per-operation latency and error codes for /metrics (infra.metrics)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from infra import metrics


def _code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    return str(code) if code else "GRAPHQL_VALIDATION"


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except Exception:  # the document did not parse: there is no operation
            kind = "invalid"
        settings = getattr(context.context, "settings", None)
        known = metrics.known_operations(settings.METRICS_OPERATIONS if settings else "")
        metrics.observe_request(context.operation_name, kind, time.perf_counter() - started, known)
        result = context.result
        for error in getattr(result, "errors", None) or ():
            metrics.error(_code(error))
