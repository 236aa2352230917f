from __future__ import annotations

import strawberry

from schema.accounts.types import Account
from schema.context import Info


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The logged-in account.")
    def me(self, info: Info) -> Account | None:
        return Account.of(info.context.caller())
