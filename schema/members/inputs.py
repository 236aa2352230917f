from __future__ import annotations

from datetime import datetime

import strawberry

from domain.sharing import ShareRequest
from schema.enums import AccountRole


@strawberry.input(description="Exactly one target: environmentId, groupId or root: true.")
class ShareInput:
    environment_id: strawberry.ID | None = None
    group_id: strawberry.ID | None = None
    root: bool | None = None
    role_ids: list[strawberry.ID]
    expires_at: datetime | None = None

    def request(self) -> ShareRequest:
        return ShareRequest(
            environment_id=self.environment_id, group_id=self.group_id, root=self.root,
            role_ids=list(self.role_ids), expires_at=self.expires_at,
        )  # fmt: skip


@strawberry.input
class InviteMemberInput:
    email: str
    display_name: str | None = None
    account_role: AccountRole = AccountRole.VIEWER
    shares: list[ShareInput] = strawberry.field(default_factory=list)


@strawberry.input(
    description="Fields left out stay as they are; `shares`, when given, replaces all."
)
class UpdateMemberInput:
    display_name: str | None = strawberry.UNSET
    account_role: AccountRole | None = None
    shares: list[ShareInput] | None = None
