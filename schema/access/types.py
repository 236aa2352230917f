"""Who may do what, as the API explains it: "Shared with me" and `explainAccess`."""

from __future__ import annotations

import uuid

import strawberry

from domain.access import AccessLevel, EmptyReason, Grant
from models import Member as MemberModel
from schema.accounts.types import AccountRef
from schema.context import Info
from schema.environments.types import Environment, EnvironmentGroup
from schema.members.types import Member, Share
from schema.roles.types import Role


@strawberry.type(description='"Environments owned by ...": one owner the caller collaborates with.')
class OwnerSection:
    member: Member
    can_create_environments: bool
    environments: list[Environment]
    groups: list[EnvironmentGroup] = strawberry.field(
        description="The shared groups as trees (each with children and environments)."
    )
    owner_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def owner(self, info: Info) -> AccountRef:
        return AccountRef.of(await info.context.loaders.account.load(self.owner_id))


@strawberry.type(description="One share and one of its roles, as the resolver weighed them.")
class AccessGrant:
    policies: list[str]
    grant: strawberry.Private[Grant]
    owner_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, grant: Grant, owner_id: uuid.UUID) -> AccessGrant:
        return cls(policies=sorted(grant.role.policies), grant=grant, owner_id=owner_id)

    @strawberry.field
    async def share(self, info: Info) -> Share | None:
        share = await info.context.loaders.share.load(self.grant.share.id)
        return Share.of(share, self.owner_id) if share else None

    @strawberry.field
    async def role(self, info: Info) -> Role | None:
        role = await info.context.loaders.role.load(self.grant.role.id)
        return Role.of(role) if role else None


@strawberry.type(description="Why a member has (or lacks) access to one environment.")
class AccessExplanation:
    policies: list[str]
    level: AccessLevel = strawberry.field(description="The level that won.")
    reason: EmptyReason | None = strawberry.field(description="Why access is empty, if it is.")
    grants: list[AccessGrant] = strawberry.field(description="The shares and roles counted.")
    outranked: list[AccessGrant] = strawberry.field(
        description="Shares present but beaten by a more specific level."
    )
    receive_load_alerts: bool = strawberry.field(
        description="Whether a counted role carries receiveLoadAlerts."
    )
    grants_when_active: list[AccessGrant] = strawberry.field(
        description="For a member that is not active (reason SUSPENDED, TRIAL_EXPIRED or "
        "NOT_ACTIVE; level is then NONE): the grants that would count once it is active. "
        "Empty otherwise."
    )
    level_when_active: AccessLevel = strawberry.field(
        description="The level that would win once the member is active (equals `level` "
        "for an active member)."
    )
    policies_when_active: list[str] = strawberry.field(
        description="The policies that would apply once the member is active."
    )
    member_model: strawberry.Private[MemberModel]

    @strawberry.field
    def member(self) -> Member:
        return Member.of(self.member_model)


@strawberry.type(
    description="What a previewed change does to one member's effective policies on one "
    "environment (policy codes, sorted)."
)
class AccessChange:
    member: Member
    environment: Environment
    gained: list[str]
    lost: list[str]
