from __future__ import annotations

import strawberry

from domain.ids import parse_id
from domain.policies import PolicyCode
from models import Environment as EnvironmentModel
from models import EnvironmentGroup as GroupModel
from models import EnvironmentStatus as Status
from schema.context import Info
from schema.environments.types import Environment, EnvironmentGroup


@strawberry.type
class EnvironmentQuery:
    @strawberry.field(description="The caller's own live environments, by name.")
    async def environments(self, info: Info) -> list[Environment]:
        caller = info.context.caller()
        rows = await EnvironmentModel.filter(owner_id=caller.id).exclude(status=Status.DELETED)
        for row in rows:
            info.context.loaders.environment.prime(row.id, row)
        return [Environment.of(e) for e in sorted(rows, key=lambda e: e.name)]

    @strawberry.field(description="The caller's top-level environment groups, by name.")
    async def environment_groups(self, info: Info) -> list[EnvironmentGroup]:
        caller = info.context.caller()
        rows = await GroupModel.filter(owner_id=caller.id, parent_id=None).order_by("name")
        for row in rows:
            info.context.loaders.group.prime(row.id, row)
        return [EnvironmentGroup.of(g) for g in rows]

    @strawberry.field(description="An environment of the caller's, or one shared with it.")
    async def environment(self, info: Info, id: strawberry.ID) -> Environment | None:
        caller = info.context.caller()
        env_id = parse_id(id)
        if env_id is None:
            return None
        env = await info.context.loaders.environment.load(env_id)
        if env is None:
            return None
        if env.owner_id == caller.id:
            return Environment.of(env)
        if PolicyCode.ENV_VIEW.value in await info.context.access.policies_on(env.id):
            return Environment.of(env)
        return None
