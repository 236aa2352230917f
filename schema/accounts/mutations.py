from __future__ import annotations

import strawberry

from domain import accounts, rate_limit
from domain.errors import DomainError, ErrorCode
from models import AccountKind
from schema.accounts.types import Account, AuthPayload, LogOutPayload
from schema.context import Info
from schema.errors import returns_payload


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Create a TRIAL account and log in.")
    @returns_payload(AuthPayload)
    async def sign_up(
        self, info: Info, email: str, password: str, display_name: str | None = None
    ) -> AuthPayload:
        settings = info.context.settings
        account = await accounts.create_account(
            email, password, display_name, AccountKind.TRIAL, settings.TRIAL_DAYS
        )
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
