from __future__ import annotations

import strawberry
from tortoise.expressions import Q

from domain.policies import BUILT_IN_ROLES, PolicyCode
from models import Role as RoleModel
from schema.context import Info
from schema.roles.types import Policy, Role

_BUILT_IN_ORDER = {spec.id: i for i, spec in enumerate(BUILT_IN_ROLES)}


@strawberry.type
class RoleQuery:
    @strawberry.field(description="The policy catalogue.")
    async def policies(self, info: Info) -> list[Policy]:
        info.context.caller()
        return [Policy.of(p.value) for p in PolicyCode]

    @strawberry.field(description="The built-in roles, then the caller's own by name.")
    async def roles(self, info: Info) -> list[Role]:
        caller = info.context.caller()
        rows = await RoleModel.filter(Q(built_in=True) | Q(owner_id=caller.id))
        rows.sort(key=lambda r: (not r.built_in, _BUILT_IN_ORDER.get(r.id, 0), r.name.casefold()))
        return [Role.of(r) for r in rows]
