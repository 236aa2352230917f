"""Environment, EnvironmentGroup and EnvironmentsRoot as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models import Environment as EnvironmentModel
from models import EnvironmentGroup as GroupModel
from schema.accounts.types import AccountRef
from schema.context import Info
from schema.enums import EnvironmentStatus
from schema.errors import UserError


@strawberry.type(name="Environment")
class Environment:
    id: strawberry.ID
    name: str
    display_name: str
    status: EnvironmentStatus
    created_at: datetime
    environment_id: strawberry.Private[uuid.UUID]
    owner_id: strawberry.Private[uuid.UUID]
    created_by_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, m: EnvironmentModel) -> Environment:
        return cls(
            id=strawberry.ID(str(m.id)), name=m.name, display_name=m.display_name,
            status=m.status, created_at=m.created_at, environment_id=m.id,
            owner_id=m.owner_id, created_by_id=m.created_by_id,
        )  # fmt: skip

    @strawberry.field
    async def owner(self, info: Info) -> AccountRef:
        return AccountRef.of(await info.context.loaders.account.load(self.owner_id))

    @strawberry.field
    async def created_by(self, info: Info) -> AccountRef | None:
        account = await info.context.loaders.account.load(self.created_by_id)
        return AccountRef.of(account) if account else None

    @strawberry.field(description="Groups of the owner's tree that hold this environment.")
    async def groups(self, info: Info) -> list[EnvironmentGroup]:
        ids = await info.context.loaders.group_ids_by_environment.load(self.environment_id)
        groups = await info.context.loaders.group.load_many(ids)
        return [EnvironmentGroup.of(g) for g in sorted(groups, key=lambda g: g.name) if g]

    @strawberry.field(description="The caller's effective policy codes on this environment.")
    async def my_policies(self, info: Info) -> list[str]:
        return sorted(await info.context.access.policies_on(self.environment_id))


@strawberry.type(name="EnvironmentGroup")
class EnvironmentGroup:
    id: strawberry.ID
    name: str
    group_id: strawberry.Private[uuid.UUID]
    parent_id: strawberry.Private[uuid.UUID | None]
    owner_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, m: GroupModel) -> EnvironmentGroup:
        return cls(
            id=strawberry.ID(str(m.id)), name=m.name, group_id=m.id, parent_id=m.parent_id,
            owner_id=m.owner_id,
        )  # fmt: skip

    @strawberry.field
    async def parent(self, info: Info) -> EnvironmentGroup | None:
        if self.parent_id is None:
            return None
        group = await info.context.loaders.group.load(self.parent_id)
        return EnvironmentGroup.of(group) if group else None

    @strawberry.field
    async def children(self, info: Info) -> list[EnvironmentGroup]:
        children = await info.context.loaders.children_by_group.load(self.group_id)
        return [EnvironmentGroup.of(g) for g in children]

    @strawberry.field(description="Environments added to this group directly.")
    async def environments(self, info: Info) -> list[Environment]:
        envs = await info.context.loaders.environments_by_group.load(self.group_id)
        return [Environment.of(e) for e in envs]


@strawberry.type(description="The whole Environments category of an owner (the root).")
class EnvironmentsRoot:
    owner_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def owner(self, info: Info) -> AccountRef:
        return AccountRef.of(await info.context.loaders.account.load(self.owner_id))


@strawberry.type
class EnvironmentPayload:
    environment: Environment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EnvironmentGroupPayload:
    environment_group: EnvironmentGroup | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
