"""Previews of sharing changes: what the mutation would do to effective policies, unwritten.

Each query takes the arguments of the mutation it previews and runs that mutation's own
plan (its checks, in the same order), then `domain.previews` diffs the resolver's answer
before and after in memory. A refusal is a top-level GraphQL error with the mutation's
code in `extensions.code` (and `extensions.field`), since the answer is a plain list.
A refused preview writes nothing, not even the DENIED audit entry the mutation would leave:
it changes nothing, like every other query.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from domain import access, previews
from domain import groups as tree
from domain import members as lifecycle
from domain.environments import GrantRequest, plan_share
from domain.errors import DomainError
from domain.ids import parse_id
from domain.previews import AccessEffect
from models import Account as AccountModel
from schema.access.types import AccessChange
from schema.context import Info
from schema.environments.inputs import GrantInput
from schema.environments.types import Environment
from schema.errors import ApiError
from schema.members.inputs import UpdateMemberInput
from schema.members.mutations import member_changes
from schema.members.types import Member


async def _preview(
    info: Info, plan: Callable[[AccountModel], Awaitable[AccessEffect]]
) -> list[AccessChange]:
    """The owner check is the mutation's own (inside its plan); logged out is
    UNAUTHENTICATED like any query."""
    owner = info.context.caller()
    try:
        changes = await previews.preview(await plan(owner))
    except DomainError as error:
        extra = {"field": error.field} if error.field else {}
        raise ApiError(error.code, error.message, **extra) from None
    everything = access.sorted_codes(access.OWNER_POLICIES)
    return [
        AccessChange(member=Member.of(c.member), environment=Environment.of(c.environment,
                     everything), gained=c.gained, lost=c.lost)
        for c in changes
    ]  # fmt: skip


DOES = "Writes nothing: one entry per member and environment whose effective policies change."


@strawberry.type
class PreviewQuery:
    @strawberry.field(description=f"What `updateMember` with these arguments would do. {DOES}")
    async def preview_member_update(
        self, info: Info, id: strawberry.ID, input: UpdateMemberInput
    ) -> list[AccessChange]:
        async def plan(owner: AccountModel) -> AccessEffect:
            return (await lifecycle.plan_update(owner, parse_id(id), member_changes(input))).effect

        return await _preview(info, plan)

    @strawberry.field(description=f"What `shareEnvironment` would do. {DOES}")
    async def preview_share_environment(
        self, info: Info, environment_id: strawberry.ID, grants: list[GrantInput]
    ) -> list[AccessChange]:
        requests = [GrantRequest(g.member_id, list(g.role_ids)) for g in grants]

        async def plan(owner: AccountModel) -> AccessEffect:
            return (await plan_share(owner, parse_id(environment_id), requests)).effect

        return await _preview(info, plan)

    @strawberry.field(description=f"What `moveEnvironmentGroup` would do. {DOES}")
    async def preview_move_environment_group(
        self, info: Info, id: strawberry.ID, parent_id: strawberry.ID | None = None
    ) -> list[AccessChange]:
        async def plan(owner: AccountModel) -> AccessEffect:
            return (await tree.plan_move(owner, parse_id(id), parse_id(parent_id),
                                         parent_given=parent_id is not None)).effect  # fmt: skip

        return await _preview(info, plan)

    @strawberry.field(description=f"What `addEnvironmentToGroup` would do. {DOES}")
    async def preview_add_environment_to_group(
        self, info: Info, environment_id: strawberry.ID, group_id: strawberry.ID
    ) -> list[AccessChange]:
        async def plan(owner: AccountModel) -> AccessEffect:
            return (await tree.plan_placement(owner, parse_id(environment_id),
                                              parse_id(group_id), add=True)).effect  # fmt: skip

        return await _preview(info, plan)

    @strawberry.field(description=f"What `removeEnvironmentFromGroup` would do. {DOES}")
    async def preview_remove_environment_from_group(
        self, info: Info, environment_id: strawberry.ID, group_id: strawberry.ID
    ) -> list[AccessChange]:
        async def plan(owner: AccountModel) -> AccessEffect:
            return (await tree.plan_placement(owner, parse_id(environment_id),
                                              parse_id(group_id), add=False)).effect  # fmt: skip

        return await _preview(info, plan)
