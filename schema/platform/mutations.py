"""Calls from billing and monitoring, authenticated by `X-Platform-Token`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain import trials
from domain.errors import not_found
from domain.ids import parse_id
from domain.unit_of_work import unit_of_work
from schema.accounts.types import Account, AccountPayload
from schema.context import Info
from schema.enums import AccountKind
from schema.errors import returns_payload


@strawberry.type
class PlatformMutation:
    @strawberry.mutation(
        description="Billing: change an account's kind; a past trialEndsAt ends the trial now."
    )
    @returns_payload(AccountPayload)
    async def platform_set_account_kind(
        self, info: Info, account_id: strawberry.ID, kind: AccountKind,
        trial_ends_at: datetime | None = None,
    ) -> AccountPayload:  # fmt: skip
        info.context.require_platform()
        parsed = parse_id(account_id)
        if parsed is None:
            raise not_found("Account", "accountId")
        async with unit_of_work(info.context.services.after_commit):
            account = await trials.set_account_kind(parsed, kind, trial_ends_at)
        info.context.refresh()
        return AccountPayload(account=Account.of(account))
