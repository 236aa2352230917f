"""Who is calling: a bearer session, and/or the platform's shared token."""

from __future__ import annotations

import hmac

from domain.accounts import account_for_token
from models import Account


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(authorization: str | None) -> tuple[Account | None, str | None]:
    """The account and its token; (None, None) without a token, (None, token) for a token
    that names no live session."""
    token = bearer_token(authorization)
    if token is None:
        return None, None
    return await account_for_token(token), token


def is_platform(header: str | None, expected: str) -> bool:
    return bool(header) and hmac.compare_digest(header.encode(), expected.encode())  # type: ignore[union-attr]
