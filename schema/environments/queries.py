from __future__ import annotations

import uuid

import strawberry

from domain import access, records
from domain.ids import parse_id
from domain.policies import PolicyCode
from models import EnvironmentGroup as GroupModel
from schema.context import Info
from schema.environments.types import Environment, EnvironmentGroup


@strawberry.type
class EnvironmentQuery:
    @strawberry.field(description="The caller's own live environments, by name.")
    async def environments(self, info: Info) -> list[Environment]:
        caller = info.context.caller()
        everything = access.sorted_codes(access.OWNER_POLICIES)
        rows = await records.live_environments([caller.id])
        for row in rows:
            info.context.loaders.environment.prime(row.id, row)
        return [Environment.of(e, everything) for e in rows]

    @strawberry.field(description="The caller's top-level environment groups, by name.")
    async def environment_groups(self, info: Info) -> list[EnvironmentGroup]:
        caller = info.context.caller()
        rows = await GroupModel.filter(owner_id=caller.id, parent_id=None).order_by("name")
        for row in rows:
            info.context.loaders.group.prime(row.id, row)
        return [EnvironmentGroup.of(g, info.context) for g in rows]

    @strawberry.field(description="An environment of the caller's, or one shared with it.")
    async def environment(self, info: Info, id: strawberry.ID) -> Environment | None:
        caller = info.context.caller()
        env_id = parse_id(id)
        if env_id is None:
            return None
        env = await info.context.loaders.environment.load(env_id)
        if env is not None and env.owner_id == caller.id:
            return Environment.of(env, access.sorted_codes(access.OWNER_POLICIES))
        # A stranger must not tell another owner's environment from a random id by the
        # time the answer takes: both cost the look-up of a membership with its owner.
        member = await access.membership_of(env.owner_id if env else uuid.uuid4(), caller.id)
        if env is None or member is None:
            return None
        policies = await info.context.access.policies_on(env.id)
        if PolicyCode.ENV_VIEW.value in policies:
            return Environment.of(env, access.sorted_codes(policies))
        return None
