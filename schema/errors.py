"""Both kinds of failure: `UserError` in a payload, and coded top-level GraphQL errors."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

from domain.errors import DomainError, ErrorCode
from infra import logs, metrics, outages
from schema.enums import ErrorCode as _registered  # noqa: F401 - registers the GraphQL enum
from schema.limits import request_error_extensions


@strawberry.type
class UserError:
    code: ErrorCode
    message: str
    field: str | None = None

    @classmethod
    def of(cls, error: DomainError) -> UserError:
        return cls(code=error.code, message=error.message, field=error.field)


class ApiError(GraphQLError):
    """A top-level error the client is meant to see, with `extensions.code`."""

    def __init__(self, code: ErrorCode, message: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": code.value, **extensions})

    @classmethod
    def of(cls, error: DomainError) -> ApiError:
        """A DomainError as a top-level error; a rate limit keeps its `retryAfter` (s)."""
        retry = getattr(error, "retry_after", None)
        return cls(error.code, error.message, **({"retryAfter": retry} if retry else {}))


LOG_IN_FIRST = "Log in first"
# A bearer token was sent but names no live session (unknown, revoked or expired).
BAD_SESSION = "The session token is invalid or has expired; log in again"


def unauthenticated(token_rejected: bool = False) -> ApiError:
    return ApiError(ErrorCode.UNAUTHENTICATED, BAD_SESSION if token_rejected else LOG_IN_FIRST)


# Raised while parsing, validating or coercing variables: the client's own input.
_REQUEST_ERRORS = (ValueError, ArithmeticError, TypeError)


def _is_public(error: GraphQLError) -> bool:
    original = error.original_error
    if error.path is None:  # before execution: syntax, validation, variable values
        return original is None or isinstance(original, (GraphQLError, *_REQUEST_ERRORS))
    return isinstance(original, (ApiError, DomainError))


SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class HideInternalErrors(MaskErrors):
    """Unexpected exceptions become "Internal error" with a code and the request id the
    log holds them under (with the stack); no stack trace reaches a client. Errors about
    the request itself get the VALIDATION code. A database that is down or locked is
    `SERVICE_UNAVAILABLE`: the client should retry, and nothing is broken."""

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=lambda e: not _is_public(e), error_message="Internal error"
        )

    def _request_id(self) -> str | None:
        context = getattr(self, "execution_context", None)
        return getattr(getattr(context, "context", None), "request_id", None)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is not None and outages.unavailable(original):
            outages.watch(outages.dependency_of(original)).failed(original, "graphql")
            masked = GraphQLError(
                "The service is briefly unavailable (a dependency is down); try again shortly",
                nodes=error.nodes, source=error.source, positions=error.positions,
                path=error.path,
            )  # fmt: skip
            code = SERVICE_UNAVAILABLE
        else:
            masked = super().anonymise_error(error)
            code = INTERNAL_SERVER_ERROR
        request_id = self._request_id() or logs.current_request_id()
        masked.extensions = {"code": code, **({"requestId": request_id} if request_id else {})}
        if code == INTERNAL_SERVER_ERROR and request_id:
            masked.message = f"Internal error (request {request_id})"
        return masked

    def on_operation(self) -> Iterator[None]:
        """MaskErrors' own hook (public), then errors about the request itself get the
        VALIDATION code (and a limit's name)."""
        yield from super().on_operation()
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or ():
            if error.path is None and (error.extensions or {}).get("code") in (None, "VALIDATION"):
                error.extensions = request_error_extensions(error)


log = logging.getLogger("collab.graphql")


class CollabSchema(strawberry.Schema):
    """Logs unexpected errors once, with the request id and the stack, and nothing else:
    never the query text (a failed `logIn` would put its password in the log)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context = getattr(execution_context, "context", None)
        request_id = getattr(context, "request_id", None)
        unavailable = [e for e in errors if _unavailable(e)]
        if unavailable:  # a dependency that is down is no bug: infra.outages logs it once
            log.info("%d error(s) answered SERVICE_UNAVAILABLE", len(unavailable))
        for error in errors:
            if _is_public(error) or _unavailable(error):
                continue
            original = error.original_error or error
            log.error(
                "unexpected error in %s at %s (request %s): %s: %s",
                getattr(execution_context, "operation_name", None) or "operation",
                ".".join(str(p) for p in error.path or ()) or "-", request_id,
                type(original).__name__, str(original)[:500],
                exc_info=(type(original), original, original.__traceback__),
            )  # fmt: skip


def _unavailable(error: GraphQLError) -> bool:
    if (error.extensions or {}).get("code") == SERVICE_UNAVAILABLE:
        return True
    return error.original_error is not None and outages.unavailable(error.original_error)


P = TypeVar("P")


def returns_payload(
    payload: type[P],
) -> Callable[[Callable[..., Awaitable[P]]], Callable[..., Awaitable[P]]]:
    """Turns a `DomainError` raised by the mutation into `payload(errors=[...])`."""

    def decorate(fn: Callable[..., Awaitable[P]]) -> Callable[..., Awaitable[P]]:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> P:
            try:
                return await fn(*args, **kwargs)
            except DomainError as error:
                metrics.error(error.code.value, "payload")
                return payload(errors=[UserError.of(error)])  # type: ignore[call-arg]

        wrapper.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
        return wrapper

    return decorate
