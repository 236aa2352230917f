"""Both kinds of failure: `UserError` in a payload, and coded top-level GraphQL errors."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from collab import logs, metrics, outages
from domain.errors import DomainError, ErrorCode
from schema.enums import ErrorCode as _registered  # noqa: F401 - registers the GraphQL enum


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

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message, extensions={"code": code.value})


LOG_IN_FIRST = "Log in first"
# A bearer token was sent but names no live session (unknown, revoked or expired).
BAD_SESSION = "The session token is invalid or has expired; log in again"


def unauthenticated(token_rejected: bool = False) -> ApiError:
    return ApiError(ErrorCode.UNAUTHENTICATED, BAD_SESSION if token_rejected else LOG_IN_FIRST)


def _is_public(error: GraphQLError) -> bool:
    original = error.original_error
    # A GraphQLError as the cause is graphql-core's own wording about the request (a
    # variable that does not coerce, say): safe to show, and the client's mistake.
    return original is None or isinstance(original, (ApiError, DomainError, GraphQLError))


SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class HideInternalErrors(MaskErrors):
    """Unexpected exceptions become "Internal error" with a code and the request id (to
    find the logged traceback); no stack trace leaks. A database that is down or locked
    is `SERVICE_UNAVAILABLE`: the client should retry, and nothing is broken."""

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=lambda e: not _is_public(e), error_message="Internal error"
        )

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
        request_id = logs.current_request_id()
        masked.extensions = {"code": code, **({"requestId": request_id} if request_id else {})}
        return masked


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
