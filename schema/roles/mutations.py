"""Custom roles. Built-in roles are read-only (FORBIDDEN); a role in use is kept
(INVALID_STATE); names are unique per owner, built-in names included (CONFLICT)."""

from __future__ import annotations

import strawberry

from domain import roles
from domain.ids import parse_id
from schema.context import Info
from schema.errors import returns_payload
from schema.roles.types import Role, RoleInput, RolePayload


@strawberry.type
class RoleMutation:
    @strawberry.mutation
    @returns_payload(RolePayload)
    async def create_role(self, info: Info, input: RoleInput) -> RolePayload:
        owner = info.context.caller_for_mutation()
        role = await info.context.commit(lambda: roles.create(owner, input.draft()))
        return RolePayload(role=Role.of(role))

    @strawberry.mutation(description="Replaces the role; members using it see the change.")
    @returns_payload(RolePayload)
    async def update_role(self, info: Info, id: strawberry.ID, input: RoleInput) -> RolePayload:
        owner = info.context.caller_for_mutation()
        role = await info.context.commit(lambda: roles.update(owner, parse_id(id), input.draft()))
        return RolePayload(role=Role.of(role))

    @strawberry.mutation(description="Only a role no share uses; returns its last state.")
    @returns_payload(RolePayload)
    async def delete_role(self, info: Info, id: strawberry.ID) -> RolePayload:
        owner = info.context.caller_for_mutation()
        role, codes = await info.context.commit(lambda: roles.delete(owner, parse_id(id)))
        return RolePayload(role=Role.of(role, codes))
