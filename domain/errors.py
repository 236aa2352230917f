"""Typed failures: every refusal the service gives carries one of these codes."""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    VALIDATION = "VALIDATION"
    CONFLICT = "CONFLICT"
    INVALID_STATE = "INVALID_STATE"
    INVALID_TOKEN = "INVALID_TOKEN"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    RATE_LIMITED = "RATE_LIMITED"
    # Section 6: why an environment operation failed on the platform.
    PLATFORM_UNAVAILABLE = "PLATFORM_UNAVAILABLE"
    PLATFORM_REFUSED = "PLATFORM_REFUSED"


class DomainError(Exception):
    """A refusal the caller can act on; the API turns it into a `UserError`."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"DomainError({self.code.value}, {self.message!r}, field={self.field!r})"


def not_found(what: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found", field)


def validation(message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.VALIDATION, message, field)


def conflict(message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.CONFLICT, message, field)


def invalid_state(message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_STATE, message)


def forbidden(message: str = "You are not allowed to do this") -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, message)


def unauthenticated(message: str = "Log in first") -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, message)
