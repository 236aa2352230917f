"""Emails about the account itself: the password-reset link and the verification link.

The raw token travels in the outbox payload only until its email leaves (the runner wipes
it). A link that stopped working meanwhile (used, replaced by a newer one, expired) or a
verification for an address proven some other way sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from domain.account_care import RESET_PATH, VERIFY_PATH
from domain.clock import utcnow
from domain.tokens import token_hash
from models import Account, AccountToken, AccountTokenPurpose, OutboxJob
from workers import emails
from workers.mailer import BatchReport, Email

if TYPE_CHECKING:
    from workers.runner import JobEnv


async def _live(payload: dict[str, Any], purpose: AccountTokenPurpose) -> AccountToken | None:
    token = payload.get("token")
    if not token:
        return None
    row = await AccountToken.get_or_none(token_hash=token_hash(str(token)), purpose=purpose)
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


async def _send_link(
    row: OutboxJob, env: JobEnv, purpose: AccountTokenPurpose, path: str,
    template: Callable[..., Email], key: str,
) -> BatchReport | None:  # fmt: skip
    payload: dict[str, Any] = row.payload or {}
    live = await _live(payload, purpose)
    if live is None:
        return None
    account = await Account.get(id=live.account_id)
    if purpose is AccountTokenPurpose.EMAIL_VERIFICATION and account.email_verified_at:
        return None  # proven meanwhile (an invitation link, a password reset)
    email = template(
        key=f"{key}:{row.id}", to=account.email,
        link=f"{env.settings.public_url}{path}/{payload['token']}", expires_at=live.expires_at,
    )  # fmt: skip
    return await env.send_all([email])


async def send_password_reset(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    return await _send_link(row, env, AccountTokenPurpose.PASSWORD_RESET, RESET_PATH,
                            emails.password_reset, "reset")  # fmt: skip


async def send_email_verification(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    return await _send_link(row, env, AccountTokenPurpose.EMAIL_VERIFICATION, VERIFY_PATH,
                            emails.email_verification, "verify")  # fmt: skip
