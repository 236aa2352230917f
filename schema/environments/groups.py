"""The environment-group tree: the owner's `environmentGroups` and its mutations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from domain import groups
from domain.ids import parse_id
from models import EnvironmentGroup as GroupModel
from schema.context import Info
from schema.environments.mutations import changed_environment
from schema.environments.types import (
    EnvironmentGroup,
    EnvironmentGroupPayload,
    EnvironmentPayload,
)
from schema.errors import returns_payload


async def _group(info: Info, work: Callable[[], Awaitable[GroupModel]]) -> EnvironmentGroupPayload:
    group = await info.context.commit(work)
    return EnvironmentGroupPayload(environment_group=EnvironmentGroup.of(group, info.context))


@strawberry.type
class GroupMutation:
    @strawberry.mutation(description="Names are unique among siblings.")
    @returns_payload(EnvironmentGroupPayload)
    async def create_environment_group(
        self, info: Info, name: str, parent_id: strawberry.ID | None = None
    ) -> EnvironmentGroupPayload:
        owner = info.context.caller_for_mutation()
        return await _group(info, lambda: groups.create(
            owner, name, parse_id(parent_id), parent_given=parent_id is not None
        ))  # fmt: skip

    @strawberry.mutation
    @returns_payload(EnvironmentGroupPayload)
    async def rename_environment_group(
        self, info: Info, id: strawberry.ID, name: str
    ) -> EnvironmentGroupPayload:
        owner = info.context.caller_for_mutation()
        return await _group(info, lambda: groups.rename(owner, parse_id(id), name))

    @strawberry.mutation(description="`parentId: null` moves to the top; no cycles.")
    @returns_payload(EnvironmentGroupPayload)
    async def move_environment_group(
        self, info: Info, id: strawberry.ID, parent_id: strawberry.ID | None = None
    ) -> EnvironmentGroupPayload:
        owner = info.context.caller_for_mutation()
        return await _group(info, lambda: groups.move(
            owner, parse_id(id), parse_id(parent_id), parent_given=parent_id is not None
        ))  # fmt: skip

    @strawberry.mutation(description="Only an empty group; returns its last state.")
    @returns_payload(EnvironmentGroupPayload)
    async def delete_environment_group(
        self, info: Info, id: strawberry.ID
    ) -> EnvironmentGroupPayload:
        owner = info.context.caller_for_mutation()
        return await _group(info, lambda: groups.delete(owner, parse_id(id)))

    @strawberry.mutation(description="An environment may sit in any number of groups.")
    @returns_payload(EnvironmentPayload)
    async def add_environment_to_group(
        self, info: Info, environment_id: strawberry.ID, group_id: strawberry.ID
    ) -> EnvironmentPayload:
        owner = info.context.caller_for_mutation()
        return await changed_environment(info, lambda: groups.add_environment(
            owner, parse_id(environment_id), parse_id(group_id)
        ))  # fmt: skip

    @strawberry.mutation
    @returns_payload(EnvironmentPayload)
    async def remove_environment_from_group(
        self, info: Info, environment_id: strawberry.ID, group_id: strawberry.ID
    ) -> EnvironmentPayload:
        owner = info.context.caller_for_mutation()
        return await changed_environment(info, lambda: groups.remove_environment(
            owner, parse_id(environment_id), parse_id(group_id)
        ))  # fmt: skip
