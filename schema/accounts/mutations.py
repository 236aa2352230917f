from __future__ import annotations

import strawberry

from domain import accounts, rate_limit
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
        address = info.context.client_address
        await rate_limit.take_all(
            info.context.services.limiter, [(rate_limit.SIGNUP_PER_ADDRESS, address)],
            "Too many sign-ups from your address",
        )  # fmt: skip
        account = await accounts.create_account(
            email, password, display_name, AccountKind.TRIAL, settings.TRIAL_DAYS
        )
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
        info.context.caller_for_mutation()
        assert info.context.session_token is not None
        return LogOutPayload(ok=await accounts.revoke_session(info.context.session_token))
