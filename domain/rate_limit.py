"""Rate limits for what an attacker would repeat: log-ins, sign-ups, invitations, token guesses.

An attempt is counted *before* the work it guards (an atomic increment), so concurrent
attempts cannot all slip under the limit; `attempt()` gives the count back when the work
turns out not to be the kind the limit is about (a successful log-in, a valid token).
Each limit's rule ("10/15 minutes;...") is a setting, named by `Limit.setting`.

A limit keyed by something everyone shares (an email) is `shared`: it is charged only
once the attempt's own limits (per address, per address and email) let it through, so
attempts one address is already refused cannot use it up and lock everyone else out.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.errors import DomainError, ErrorCode


@dataclass(frozen=True)
class Limit:
    name: str
    setting: str
    shared: bool = False  # charged only after the attempt's other limits allowed it


LOGIN_PER_ADDRESS_EMAIL = Limit("login-addr-email", "RATE_LIMIT_LOGIN_ADDRESS_EMAIL")
LOGIN_PER_EMAIL = Limit("login-email", "RATE_LIMIT_LOGIN_EMAIL", shared=True)
LOGIN_PER_ADDRESS = Limit("login-addr", "RATE_LIMIT_LOGIN_ADDRESS")
SIGNUP_PER_ADDRESS = Limit("signup-addr", "RATE_LIMIT_SIGNUP_ADDRESS")
INVITATIONS_PER_OWNER = Limit("invite-owner", "RATE_LIMIT_INVITATIONS_OWNER")
TOKEN_GUESSES_PER_ADDRESS = Limit("token-addr", "RATE_LIMIT_TOKEN_ADDRESS")
# Account care: reset and verification emails go to an address nobody has proved yet.
PASSWORD_RESETS_PER_ADDRESS = Limit("reset-addr", "RATE_LIMIT_PASSWORD_RESET_ADDRESS")
PASSWORD_RESETS_PER_ADDRESS_EMAIL = Limit(
    "reset-addr-email", "RATE_LIMIT_PASSWORD_RESET_ADDRESS_EMAIL"
)
# Budgets of reset emails per email, spent silently (the answer never says whether an
# account exists): any email gets the first; an account's own verified email, whose
# mailbox is proven to be the owner's, gets the second, generous one.
PASSWORD_RESET_EMAILS = Limit("reset-email", "RATE_LIMIT_PASSWORD_RESET_EMAIL", shared=True)
PASSWORD_RESET_EMAILS_VERIFIED = Limit(
    "reset-email-verified", "RATE_LIMIT_PASSWORD_RESET_VERIFIED_EMAIL", shared=True
)
VERIFICATION_RESENDS_PER_ACCOUNT = Limit("verify-resend", "RATE_LIMIT_VERIFICATION_RESEND_ACCOUNT")
ACCOUNT_TOKEN_GUESSES_PER_ADDRESS = Limit("account-token-addr", "RATE_LIMIT_ACCOUNT_TOKEN_ADDRESS")


class RateLimited(DomainError):
    """RATE_LIMITED, with the seconds until the next attempt may succeed."""

    def __init__(self, message: str, retry_after: int) -> None:
        retry_after = max(1, retry_after)
        super().__init__(ErrorCode.RATE_LIMITED, f"{message}; retry in {retry_after} s")
        self.retry_after = retry_after


class RateLimiter(Protocol):
    async def take(self, limit: Limit, key: str) -> int | None:
        """Counts one attempt: None when it is allowed, else the seconds to wait."""
        ...

    async def give_back(self, limit: Limit, key: str) -> None:
        """Un-counts an attempt `take` allowed."""
        ...


Check = tuple[Limit, str]


async def take_all(limiter: RateLimiter, checks: Sequence[Check], message: str) -> None:
    """Counts the attempt against every check; RateLimited if any is used up. The shared
    checks are charged only when every other check allowed the attempt."""
    for stage in ([c for c in checks if not c[0].shared], [c for c in checks if c[0].shared]):
        waits = [await limiter.take(limit, key) for limit, key in stage]
        refused = [w for w in waits if w is not None]
        if refused:
            raise RateLimited(message, max(refused))


def email_key(email: str) -> str:
    """How an email names a rate-limit bucket: case and surrounding spaces do not matter."""
    return email.strip().lower()[:320]


@contextlib.asynccontextmanager
async def attempt(
    limiter: RateLimiter, checks: Sequence[Check], message: str,
    counts: Callable[[BaseException | None], bool],
) -> AsyncIterator[None]:  # fmt: skip
    """Count first, run, then give the count back unless `counts(outcome)` says it was the
    kind of attempt the limit is about (e.g. a wrong password)."""
    await take_all(limiter, checks, message)
    try:
        yield
    except BaseException as error:
        if not counts(error):
            for limit, key in checks:
                await limiter.give_back(limit, key)
        raise
    if not counts(None):
        for limit, key in checks:
            await limiter.give_back(limit, key)


def token_refused(outcome: BaseException | None) -> bool:
    """A presented invitation token that named nothing usable: a guess, as far as we know."""
    return isinstance(outcome, DomainError) and outcome.code in (
        ErrorCode.INVALID_TOKEN, ErrorCode.TOKEN_EXPIRED
    )  # fmt: skip


def log_in_checks(address: str, email: str) -> list[Check]:
    email = email_key(email)
    return [(LOGIN_PER_ADDRESS_EMAIL, f"{address}|{email}"), (LOGIN_PER_ADDRESS, address),
            (LOGIN_PER_EMAIL, email)]  # fmt: skip


def failed_log_in(outcome: BaseException | None) -> bool:
    return isinstance(outcome, DomainError) and outcome.code is ErrorCode.UNAUTHENTICATED
