from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from domain import account_care, accounts, rate_limit
from domain.errors import DomainError, ErrorCode
from models import Account as AccountModel
from models import AccountKind
from schema.accounts.types import (
    Account,
    AccountPayload,
    AuthPayload,
    LogOutEverywherePayload,
    LogOutPayload,
    RequestPasswordResetPayload,
)
from schema.context import Context, Info
from schema.errors import returns_payload

RESET_REQUESTED = (
    "If an account has this email, a link to choose a new password is on its way. "
    "It works once and expires in {minutes} minutes."
)


async def _counting(context: Context, limit: rate_limit.Limit, key: str, message: str) -> None:
    """Counts the attempt first, then refuses when it is one too many."""
    limiter = context.services.limiter
    if await limiter.exceeded(limit, key):
        raise DomainError(ErrorCode.RATE_LIMITED, message)
    await limiter.hit(limit, key)


async def _guessing_account_token(
    context: Context, work: Callable[[], Awaitable[AccountModel]]
) -> AccountModel:
    """Failed presentations of an emailed account link count per address."""
    limiter, address = context.services.limiter, context.client_address
    limit = rate_limit.ACCOUNT_TOKEN_GUESSES_PER_ADDRESS
    if await limiter.exceeded(limit, address):
        raise DomainError(ErrorCode.RATE_LIMITED, "Too many link attempts; try later")
    try:
        return await context.commit(work)
    except DomainError as error:
        if error.code in (ErrorCode.INVALID_TOKEN, ErrorCode.TOKEN_EXPIRED):
            await limiter.hit(limit, address)
        raise


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Create a TRIAL account and log in. A verification link is emailed; "
        "until it is followed the account may not invite collaborators."
    )
    @returns_payload(AuthPayload)
    async def sign_up(
        self, info: Info, email: str, password: str, display_name: str | None = None
    ) -> AuthPayload:
        settings = info.context.settings

        async def create() -> AccountModel:
            account = await accounts.create_account(
                email, password, display_name, AccountKind.TRIAL, settings.TRIAL_DAYS
            )
            await account_care.send_verification(account, settings.EMAIL_VERIFICATION_TTL_HOURS)
            return account

        account = await info.context.commit(create)
        token = await accounts.open_session(account, settings.SESSION_TTL_HOURS)
        return AuthPayload(token=token, account=Account.of(account))

    @strawberry.mutation
    @returns_payload(AuthPayload)
    async def log_in(self, info: Info, email: str, password: str) -> AuthPayload:
        limiter = info.context.services.limiter
        email_key = email.strip().lower()
        address = info.context.client_address
        if await limiter.exceeded(rate_limit.FAILED_LOGIN_PER_EMAIL, email_key) or (
            await limiter.exceeded(rate_limit.FAILED_LOGIN_PER_ADDRESS, address)
        ):
            raise DomainError(ErrorCode.RATE_LIMITED, "Too many failed log-ins; try later")
        try:
            account = await accounts.authenticate(email, password)
        except DomainError:
            await limiter.hit(rate_limit.FAILED_LOGIN_PER_EMAIL, email_key)
            await limiter.hit(rate_limit.FAILED_LOGIN_PER_ADDRESS, address)
            raise
        token = await accounts.open_session(account, info.context.settings.SESSION_TTL_HOURS)
        return AuthPayload(token=token, account=Account.of(account))

    @strawberry.mutation(description="Revoke the bearer token this request carries.")
    @returns_payload(LogOutPayload)
    async def log_out(self, info: Info) -> LogOutPayload:
        info.context.caller_for_mutation()
        assert info.context.session_token is not None
        return LogOutPayload(ok=await accounts.revoke_session(info.context.session_token))

    @strawberry.mutation(
        description="Revoke every bearer token of the account, this request's included."
    )
    @returns_payload(LogOutEverywherePayload)
    async def log_out_everywhere(self, info: Info) -> LogOutEverywherePayload:
        account = info.context.caller_for_mutation()
        return LogOutEverywherePayload(ended=await accounts.end_sessions(account.id))

    @strawberry.mutation(
        description="Email a single-use link to a page where a new password is chosen. The "
        "answer is the same whether or not an account has this email."
    )
    @returns_payload(RequestPasswordResetPayload)
    async def request_password_reset(self, info: Info, email: str) -> RequestPasswordResetPayload:
        context = info.context
        too_many = "Too many password reset requests; try again in an hour"
        await _counting(context, rate_limit.PASSWORD_RESETS_PER_ADDRESS, context.client_address,
                        too_many)  # fmt: skip
        await _counting(context, rate_limit.PASSWORD_RESETS_PER_EMAIL, email.strip().lower(),
                        too_many)  # fmt: skip
        minutes = context.settings.PASSWORD_RESET_TTL_MINUTES
        await context.commit(lambda: account_care.request_password_reset(email, minutes))
        return RequestPasswordResetPayload(message=RESET_REQUESTED.format(minutes=minutes))

    @strawberry.mutation(
        description="Set a new password from the emailed reset link (page or API); every "
        "session of the account ends."
    )
    @returns_payload(AccountPayload)
    async def reset_password(self, info: Info, token: str, new_password: str) -> AccountPayload:
        account = await _guessing_account_token(
            info.context, lambda: account_care.reset_password(token, new_password)
        )
        return AccountPayload(account=Account.of(account))

    @strawberry.mutation(
        description="Change the password; needs the current one. Every other session of "
        "the account ends; this one stays."
    )
    @returns_payload(AccountPayload)
    async def change_password(self, info: Info, current: str, new: str) -> AccountPayload:
        context = info.context
        account = context.caller_for_mutation()
        limiter = context.services.limiter
        limit = rate_limit.FAILED_LOGIN_PER_EMAIL
        if await limiter.exceeded(limit, account.email):
            raise DomainError(ErrorCode.RATE_LIMITED, "Too many wrong passwords; try later")
        try:
            changed = await context.commit(lambda: account_care.change_password(
                account, current, new, keep_session=context.session_token
            ))  # fmt: skip
        except DomainError as error:
            if error.field == "current":
                await limiter.hit(limit, account.email)
            raise
        return AccountPayload(account=Account.of(changed))

    @strawberry.mutation(description="Confirm the account's email with the emailed token.")
    @returns_payload(AccountPayload)
    async def verify_email(self, info: Info, token: str) -> AccountPayload:
        account = await _guessing_account_token(
            info.context, lambda: account_care.verify_email(token)
        )
        return AccountPayload(account=Account.of(account))

    @strawberry.mutation(
        description="Email a new verification link (the previous one stops working)."
    )
    @returns_payload(AccountPayload)
    async def resend_verification(self, info: Info) -> AccountPayload:
        context = info.context
        account = context.caller_for_mutation()
        if account_care.is_verified(account):
            raise DomainError(ErrorCode.INVALID_STATE, "This email address is already verified")
        await _counting(context, rate_limit.VERIFICATION_RESENDS_PER_ACCOUNT, str(account.id),
                        "Too many verification emails; try again in an hour")  # fmt: skip
        ttl = context.settings.EMAIL_VERIFICATION_TTL_HOURS
        await context.commit(lambda: account_care.send_verification(account, ttl))
        return AccountPayload(account=Account.of(account))
