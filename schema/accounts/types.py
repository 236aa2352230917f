from __future__ import annotations

from datetime import datetime

import strawberry

from models import Account as AccountModel
from schema.enums import AccountKind
from schema.errors import UserError


@strawberry.type(name="Account")
class Account:
    id: strawberry.ID
    email: str
    display_name: str
    kind: AccountKind
    trial_ends_at: datetime | None

    @classmethod
    def of(cls, m: AccountModel) -> Account:
        return cls(
            id=strawberry.ID(str(m.id)), email=m.email, display_name=m.display_name,
            kind=m.kind, trial_ends_at=m.trial_ends_at,
        )  # fmt: skip


@strawberry.type(description="Another account as shown to its owner or collaborators.")
class AccountRef:
    id: strawberry.ID
    email: str
    display_name: str

    @classmethod
    def of(cls, m: AccountModel) -> AccountRef:
        return cls(id=strawberry.ID(str(m.id)), email=m.email, display_name=m.display_name)


@strawberry.type
class AuthPayload:
    token: str | None = None
    account: Account | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AccountPayload:
    account: Account | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogOutPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)
