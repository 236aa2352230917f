from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from domain import account_care, accounts, rate_limit
from domain.errors import DomainError, ErrorCode
from models import Account as AccountModel
from models import AccountKind, NotificationPreference
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


async def _guessing_account_token(
    context: Context, work: Callable[[], Awaitable[AccountModel]]
) -> AccountModel:
    """Failed presentations of an emailed account link count per address."""
    checks = [(rate_limit.ACCOUNT_TOKEN_GUESSES_PER_ADDRESS, context.client_address)]
    async with rate_limit.attempt(
        context.services.limiter, checks, "Too many link attempts", rate_limit.token_refused
    ):
        account = await context.commit(work)
    return account


def _wrong_current_password(outcome: BaseException | None) -> bool:
    return isinstance(outcome, DomainError) and outcome.field == "current"


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
        address = info.context.client_address
        await rate_limit.take_all(
            info.context.services.limiter, [(rate_limit.SIGNUP_PER_ADDRESS, address)],
            "Too many sign-ups from your address",
        )  # fmt: skip

        new = await accounts.prepare_account(email, password, display_name)

        async def create() -> AccountModel:
            account = await accounts.insert_account(new, AccountKind.TRIAL, settings.TRIAL_DAYS)
            await account_care.send_verification(account, settings.EMAIL_VERIFICATION_TTL_HOURS)
            return account

        account = await info.context.commit(create)
        token = await accounts.open_session(account, settings.SESSION_TTL_HOURS)
        return AuthPayload(token=token, account=Account.of(account))

    @strawberry.mutation
    @returns_payload(AuthPayload)
    async def log_in(self, info: Info, email: str, password: str) -> AuthPayload:
        checks = rate_limit.log_in_checks(info.context.client_address, email)
        # Counted before the password is checked (concurrent guesses cannot all slip
        # through); only a failed log-in keeps its count.
        async with rate_limit.attempt(
            info.context.services.limiter,
            checks,
            "Too many failed log-ins",
            rate_limit.failed_log_in,
        ):
            account = await accounts.authenticate(email, password)
        token = await accounts.open_session(account, info.context.settings.SESSION_TTL_HOURS)
        return AuthPayload(token=token, account=Account.of(account))

    @strawberry.mutation(description="Revoke the bearer token this request carries.")
    @returns_payload(LogOutPayload)
    async def log_out(self, info: Info) -> LogOutPayload:
        context = info.context
        context.caller_for_mutation()
        token = context.session_token
        assert token is not None
        return LogOutPayload(ok=await context.commit(lambda: accounts.revoke_session(token)))

    @strawberry.mutation(
        description="Revoke every bearer token of the account, this request's included."
    )
    @returns_payload(LogOutEverywherePayload)
    async def log_out_everywhere(self, info: Info) -> LogOutEverywherePayload:
        account = info.context.caller_for_mutation()
        ended = await info.context.commit(lambda: accounts.end_sessions(account.id))
        return LogOutEverywherePayload(ended=ended)

    @strawberry.mutation(
        description="Email a single-use link to a page where a new password is chosen. The "
        "answer is the same whether or not an account has this email."
    )
    @returns_payload(RequestPasswordResetPayload)
    async def request_password_reset(self, info: Info, email: str) -> RequestPasswordResetPayload:
        context = info.context
        limiter, address = context.services.limiter, context.client_address
        key = rate_limit.email_key(email)
        # Refusals depend on the caller's address and the email typed, never on whether
        # an account has it; the email's budgets are spent silently (same answer).
        checks = [(rate_limit.PASSWORD_RESETS_PER_ADDRESS, address),
                  (rate_limit.PASSWORD_RESETS_PER_ADDRESS_EMAIL, f"{address}|{key}")]  # fmt: skip
        await rate_limit.take_all(limiter, checks, "Too many password reset requests")
        budget = account_care.ResetBudget(
            any_email=await limiter.take(rate_limit.PASSWORD_RESET_EMAILS, key) is None,
            verified=await limiter.take(rate_limit.PASSWORD_RESET_EMAILS_VERIFIED, key) is None,
        )
        minutes = context.settings.PASSWORD_RESET_TTL_MINUTES
        await context.commit(lambda: account_care.request_password_reset(email, minutes, budget))
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
        # A wrong current password counts like a failed log-in (same limits, same keys).
        checks = rate_limit.log_in_checks(context.client_address, account.email)
        async with rate_limit.attempt(
            context.services.limiter, checks, "Too many wrong passwords",
            _wrong_current_password,
        ):  # fmt: skip
            changed = await context.commit(lambda: account_care.change_password(
                account, current, new, keep_session=context.session_token
            ))  # fmt: skip
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
        await rate_limit.take_all(
            context.services.limiter,
            [(rate_limit.VERIFICATION_RESENDS_PER_ACCOUNT, str(account.id))],
            "Too many verification emails",
        )
        ttl = context.settings.EMAIL_VERIFICATION_TTL_HOURS
        await context.commit(lambda: account_care.send_verification(account, ttl))
        return AccountPayload(account=Account.of(account))

    @strawberry.mutation(
        description="Choose how share emails reach this account: EACH (the default), DIGEST "
        "or OFF. Share emails still waiting follow the new choice. Environments shared "
        "while OFF are not announced later."
    )
    @returns_payload(AccountPayload)
    async def set_notification_preference(
        self, info: Info, preference: NotificationPreference
    ) -> AccountPayload:
        caller = info.context.caller_for_mutation()
        account = await info.context.commit(
            lambda: accounts.set_notification_preference(caller.id, preference)
        )
        return AccountPayload(account=Account.of(account))
