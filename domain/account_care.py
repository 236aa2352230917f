"""Account care: email verification, password reset and change, ending sessions.

Emailed links carry a 256-bit single-use token of which only the SHA-256 is stored
(`account_token`), like invitation tokens. Every function runs inside the caller's unit
of work, so a link's email is enqueued only after its token row has committed.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from domain import outbox, versions
from domain.accounts import (
    check_password,
    end_sessions,
    hash_password,
    normalize_email,
    verify_password,
)
from domain.clock import utcnow
from domain.errors import DomainError, ErrorCode, invalid_state, validation
from domain.jobs import Job
from domain.tokens import token_hash
from models import Account, AccountToken, AccountTokenPurpose

PASSWORD_RESET = AccountTokenPurpose.PASSWORD_RESET
EMAIL_VERIFICATION = AccountTokenPurpose.EMAIL_VERIFICATION

INVALID_LINK = {
    PASSWORD_RESET: "This password reset link is not valid any more; ask for a new one",
    EMAIL_VERIFICATION: "This verification link is not valid any more; ask for a new one",
}
EXPIRED_LINK = {
    PASSWORD_RESET: "This password reset link has expired; ask for a new one",
    EMAIL_VERIFICATION: "This verification link has expired; ask for a new one",
}
VERIFY_BEFORE_INVITING = (
    "Verify your email address before inviting collaborators: follow the link in the "
    "verification email, or send it again with resendVerification"
)
VERIFY_BEFORE_INVITATIONS = (
    "Verify your email address to answer invitations by id, or open the link in the "
    "invitation email"
)
WRONG_CURRENT_PASSWORD = "The current password is not correct"
MAX_TOKEN_LENGTH = 200  # issued tokens are 43 characters
# Where the emailed links point, under PUBLIC_URL (the pages are gateway/pages/account.py).
RESET_PATH = "/account/reset-password"
VERIFY_PATH = "/account/verify-email"


def is_verified(account: Account) -> bool:
    return account.email_verified_at is not None


# Stands for "no account" where the same statements run whether or not one was found.
NOBODY = uuid.UUID(int=0)


async def _issue(account: Account, purpose: AccountTokenPurpose, ttl: timedelta) -> str:
    """A fresh token; any earlier live one of the same purpose stops working."""
    now = utcnow()
    await AccountToken.filter(account_id=account.id, purpose=purpose, used_at=None).update(
        used_at=now
    )
    token = secrets.token_urlsafe(32)
    await AccountToken.create(
        id=uuid.uuid4(), account=account, purpose=purpose, token_hash=token_hash(token),
        expires_at=now + ttl,
    )  # fmt: skip
    return token


async def _issue_nothing(purpose: AccountTokenPurpose) -> None:
    """`_issue`'s statements for no account: one on each of its rows, changing nothing."""
    await AccountToken.filter(account_id=NOBODY, purpose=purpose, used_at=None).update(
        used_at=utcnow()
    )
    await AccountToken.exists(token_hash=token_hash(secrets.token_urlsafe(32)))


async def live_token(token: str, purpose: AccountTokenPurpose) -> AccountToken:
    """The token row with its account, locked; INVALID_TOKEN or TOKEN_EXPIRED otherwise."""
    row = None
    if token and len(token) <= MAX_TOKEN_LENGTH:
        found = AccountToken.filter(token_hash=token_hash(token), purpose=purpose)
        row = await found.select_for_update().first()
    if row is None or row.used_at is not None:
        raise DomainError(ErrorCode.INVALID_TOKEN, INVALID_LINK[purpose], "token")
    if row.expires_at <= utcnow():
        raise DomainError(ErrorCode.TOKEN_EXPIRED, EXPIRED_LINK[purpose], "token")
    row.account = await Account.get(id=row.account_id)
    return row


async def _spend(row: AccountToken) -> None:
    await AccountToken.filter(id=row.id).update(used_at=utcnow())


# -- email verification ---------------------------------------------------------------


async def mark_email_verified(account: Account) -> Account:
    """What following the verification link does once the link checked out."""
    if account.email_verified_at is None:
        # `me`, and the invitations matched by email, read differently from now on.
        versions.touch_account(account.id)
        versions.touch_email(account.email)
        account.email_verified_at = utcnow()
        await Account.filter(id=account.id, email_verified_at=None).update(
            email_verified_at=account.email_verified_at
        )
    return account


async def send_verification(account: Account, ttl_hours: int) -> None:
    """A verification link to the account's email (the previous link stops working)."""
    if is_verified(account):
        raise invalid_state("This email address is already verified")
    token = await _issue(account, EMAIL_VERIFICATION, timedelta(hours=ttl_hours))
    await outbox.add(Job.EMAIL_VERIFICATION_EMAIL, {"account_id": str(account.id), "token": token})


async def verify_email(token: str) -> Account:
    """The emailed verification link (page or `verifyEmail`): single use."""
    row = await live_token(token, EMAIL_VERIFICATION)
    await _spend(row)
    return await mark_email_verified(row.account)


def require_verified(account: Account, message: str = VERIFY_BEFORE_INVITING) -> None:
    if not is_verified(account):
        raise invalid_state(message)


# -- passwords --------------------------------------------------------------------------


@dataclass(frozen=True)
class ResetBudget:
    """Whether the email's budgets of reset emails (domain.rate_limit) have room left:
    `any_email` for every address, `verified` for an account's own verified email."""

    any_email: bool
    verified: bool


async def request_password_reset(email: str, ttl_minutes: int, budget: ResetBudget) -> None:
    """Emails a reset link if an account has this email and the budget allows; the caller
    answers the same either way, so the answer tells nothing about who has an account.
    The work is the same too (same statements, one outbox job each time; a job for no
    account sends nothing), so neither does the time the answer takes."""
    normalized = normalize_email(email)
    account = await Account.get_or_none(email=normalized)
    sends = account is not None and (budget.any_email or (is_verified(account) and budget.verified))
    if account is not None and sends:
        token = await _issue(account, PASSWORD_RESET, timedelta(minutes=ttl_minutes))
        payload: dict[str, str | None] = {"account_id": str(account.id), "token": token}
    else:
        # Not even an earlier link is revoked: an exhausted budget must not undo it.
        await _issue_nothing(PASSWORD_RESET)
        payload = {"account_id": None}
    await outbox.add(Job.PASSWORD_RESET_EMAIL, payload)


async def reset_password(token: str, new_password: str) -> Account:
    """Sets the password from an emailed link and ends every session of the account. The
    link also proves the email address, so the account counts as verified."""
    row = await live_token(token, PASSWORD_RESET)
    check_password(new_password)
    account: Account = row.account
    account.password_hash = await hash_password(new_password)
    await account.save(update_fields=["password_hash", "updated_at"])
    await _spend(row)
    await end_sessions(account.id)
    return await mark_email_verified(account)


async def change_password(
    account: Account, current: str, new: str, keep_session: str | None
) -> Account:
    """Needs the current password; every session but the caller's ends."""
    if not await verify_password(account.password_hash, current):
        raise validation(WRONG_CURRENT_PASSWORD, "current")
    check_password(new, "new")
    if current == new:
        raise validation("Choose a password different from the current one", "new")
    account.password_hash = await hash_password(new)
    await account.save(update_fields=["password_hash", "updated_at"])
    # Unused reset links would undo the change: they stop working too.
    await AccountToken.filter(account_id=account.id, purpose=PASSWORD_RESET, used_at=None).update(
        used_at=utcnow()
    )
    await end_sessions(account.id, keep_token=keep_session)
    return account
