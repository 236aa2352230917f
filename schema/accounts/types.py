from __future__ import annotations

from datetime import datetime

import strawberry

from models import Account as AccountModel
from schema.enums import AccountKind, NotificationPreference
from schema.errors import UserError


@strawberry.type(name="Account")
class Account:
    id: strawberry.ID
    email: str
    display_name: str
    kind: AccountKind
    trial_ends_at: datetime | None
    email_verified: bool = strawberry.field(
        description="Whether the owner of the email proved it (the emailed verification "
        "link, a password reset link, or an invitation). Needed to invite."
    )
    notification_preference: NotificationPreference = strawberry.field(
        description="How this account hears about environments newly shared with it "
        "(setNotificationPreference). Shown only to the account itself (and to the platform "
        "in platformSetAccountKind's answer); others see an AccountRef, without it."
    )

    platform_uid: str | None = strawberry.field(
        default=None,
        description="The account on the platform this owner is linked to "
        "(platformLinkAccount); shown only to the account itself and the platform.",
    )

    @classmethod
    def of(cls, m: AccountModel) -> Account:
        return cls(
            id=strawberry.ID(str(m.id)), email=m.email, display_name=m.display_name,
            kind=m.kind, trial_ends_at=m.trial_ends_at,
            email_verified=m.email_verified_at is not None,
            notification_preference=m.notification_preference, platform_uid=m.platform_uid,
        )  # fmt: skip


@strawberry.type(description="Another account as shown to its owner or collaborators.")
class AccountRef:
    id: strawberry.ID
    email: str | None = strawberry.field(
        description="Null where the caller may not see it: `Environment.createdBy` shows "
        "the creator's email only to the environment's owner and to the creator itself."
    )
    display_name: str

    @classmethod
    def of(cls, m: AccountModel, *, with_email: bool = True) -> AccountRef:
        return cls(id=strawberry.ID(str(m.id)), email=m.email if with_email else None,
                   display_name=m.display_name)  # fmt: skip


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


@strawberry.type
class LogOutEverywherePayload:
    ended: int = strawberry.field(default=0, description="How many sessions were ended.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RequestPasswordResetPayload:
    message: str | None = strawberry.field(
        default=None, description="The same for every email, known or not."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
