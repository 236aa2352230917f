from __future__ import annotations

import uuid

import strawberry

from models import Role as RoleModel
from schema.context import Info
from schema.errors import UserError


@strawberry.type
class Policy:
    code: str
    description: str


@strawberry.type(name="Role")
class Role:
    id: strawberry.ID
    name: str
    description: str
    receive_load_alerts: bool
    built_in: bool
    role_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, m: RoleModel) -> Role:
        return cls(
            id=strawberry.ID(str(m.id)), name=m.name, description=m.description,
            receive_load_alerts=m.receive_load_alerts, built_in=m.built_in, role_id=m.id,
        )  # fmt: skip

    @strawberry.field
    async def policies(self, info: Info) -> list[Policy]:
        from domain.policies import DESCRIPTIONS, PolicyCode

        codes = await info.context.loaders.policy_codes_by_role.load(self.role_id)
        return [Policy(code=c, description=DESCRIPTIONS[PolicyCode(c)]) for c in codes]


@strawberry.type
class RolePayload:
    role: Role | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
