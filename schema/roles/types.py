"""Policy and Role as the API shows them, and the input for custom roles."""

from __future__ import annotations

import uuid

import strawberry

from domain.policies import DESCRIPTIONS, PolicyCode
from domain.roles import RoleDraft
from models import Role as RoleModel
from schema.context import Info
from schema.errors import UserError


@strawberry.type
class Policy:
    code: str
    description: str

    @classmethod
    def of(cls, code: str) -> Policy:
        return cls(code=code, description=DESCRIPTIONS[PolicyCode(code)])


@strawberry.type(name="Role")
class Role:
    id: strawberry.ID
    name: str
    description: str
    receive_load_alerts: bool
    built_in: bool
    role_id: strawberry.Private[uuid.UUID]
    # Known up front when the role no longer exists (deleteRole returns its last state).
    codes: strawberry.Private[list[str] | None] = None

    @classmethod
    def of(cls, m: RoleModel, codes: list[str] | None = None) -> Role:
        return cls(
            id=strawberry.ID(str(m.id)), name=m.name, description=m.description,
            receive_load_alerts=m.receive_load_alerts, built_in=m.built_in, role_id=m.id,
            codes=codes,
        )  # fmt: skip

    @strawberry.field
    async def policies(self, info: Info) -> list[Policy]:
        codes = self.codes
        if codes is None:
            codes = await info.context.loaders.policy_codes_by_role.load(self.role_id)
        return [Policy.of(c) for c in codes]


@strawberry.input(description="A custom role: policy codes from `policies`.")
class RoleInput:
    name: str
    description: str | None = None
    policies: list[str] = strawberry.field(default_factory=list)
    receive_load_alerts: bool = False

    def draft(self) -> RoleDraft:
        return RoleDraft(self.name, self.description, list(self.policies), self.receive_load_alerts)


@strawberry.type
class RolePayload:
    role: Role | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
