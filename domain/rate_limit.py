"""Rate limits for what an attacker would repeat: failed log-ins, invitations, token guesses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Limit:
    name: str
    max_hits: int
    window_seconds: int


FAILED_LOGIN_PER_EMAIL = Limit("login-email", 10, 15 * 60)
FAILED_LOGIN_PER_ADDRESS = Limit("login-addr", 50, 15 * 60)
INVITATIONS_PER_OWNER = Limit("invite-owner", 100, 60 * 60)
TOKEN_GUESSES_PER_ADDRESS = Limit("token-addr", 30, 15 * 60)
# Account care: reset and verification emails go to an address nobody has proved yet.
PASSWORD_RESETS_PER_EMAIL = Limit("reset-email", 5, 60 * 60)
PASSWORD_RESETS_PER_ADDRESS = Limit("reset-addr", 30, 60 * 60)
VERIFICATION_RESENDS_PER_ACCOUNT = Limit("verify-resend", 5, 60 * 60)
ACCOUNT_TOKEN_GUESSES_PER_ADDRESS = Limit("account-token-addr", 30, 15 * 60)


class RateLimiter(Protocol):
    async def exceeded(self, limit: Limit, key: str) -> bool:
        """True once `key` has used up its hits for the current window."""
        ...

    async def hit(self, limit: Limit, key: str) -> None: ...
