from __future__ import annotations

import strawberry


@strawberry.input
class CreateEnvironmentInput:
    name: str
    display_name: str | None = None
    owner_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The account that owns (and pays for) it; the caller's own by default.",
    )
    group_id: strawberry.ID | None = None


@strawberry.input(description="An empty `roleIds` removes that member's direct share.")
class GrantInput:
    member_id: strawberry.ID
    role_ids: list[strawberry.ID]
