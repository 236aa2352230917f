"""Member, Share and Invitation as the API shows them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar, cast

import strawberry

from models import Member as MemberModel
from models import Share as ShareModel
from models import ShareTargetType
from schema.accounts.types import AccountRef
from schema.context import Info
from schema.enums import AccountRole, MemberStatus
from schema.environments.types import Environment, EnvironmentGroup, EnvironmentsRoot, Later
from schema.errors import UserError
from schema.roles.types import Role

V = TypeVar("V")


@dataclass(frozen=True)
class Known(Generic[V]):
    """A value read up front, which may itself be None (a member with no account yet)."""

    value: V


ShareTarget = Annotated[
    Environment | EnvironmentGroup | EnvironmentsRoot, strawberry.union("ShareTarget")
]


@strawberry.type(name="Share")
class Share:
    id: strawberry.ID
    expires_at: datetime | None
    share: strawberry.Private[ShareModel]
    owner_id: strawberry.Private[uuid.UUID]
    # Filled in when the caller read a whole page of shares at once ("Shared by me"): the
    # fields then resolve without a coroutine each.
    known_target: strawberry.Private[Known[ShareTarget | None] | None] = None
    known_roles: strawberry.Private[list[Role] | None] = None

    @classmethod
    def of(
        cls,
        m: ShareModel,
        owner_id: uuid.UUID,
        target: Known[ShareTarget | None] | None = None,
        roles: list[Role] | None = None,
    ) -> Share:
        return cls(id=strawberry.ID(str(m.id)), expires_at=m.expires_at, share=m,
                   owner_id=owner_id, known_target=target, known_roles=roles)  # fmt: skip

    @strawberry.field
    def target(self, info: Info) -> ShareTarget | None:
        if self.known_target is not None:
            return self.known_target.value
        return cast("ShareTarget | None", Later(lambda: self._target(info)))

    async def _target(self, info: Info) -> ShareTarget | None:
        loaders = info.context.loaders
        if self.share.target_type is ShareTargetType.ENVIRONMENT:
            assert self.share.environment_id is not None
            env = await loaders.environment.load(self.share.environment_id)
            return Environment.of(env, info.context) if env else None
        if self.share.target_type is ShareTargetType.GROUP:
            assert self.share.group_id is not None
            group = await loaders.group.load(self.share.group_id)
            return EnvironmentGroup.of(group, info.context) if group else None
        return EnvironmentsRoot(owner_id=self.owner_id)

    @strawberry.field
    def roles(self, info: Info) -> list[Role]:
        if self.known_roles is not None:
            return self.known_roles
        return cast(list[Role], Later(lambda: self._roles(info)))

    async def _roles(self, info: Info) -> list[Role]:
        ids = await info.context.loaders.role_ids_by_share.load(self.share.id)
        roles = await info.context.loaders.role.load_many(ids)
        return [Role.of(r) for r in sorted((r for r in roles if r), key=lambda r: r.name)]


@strawberry.type(name="Member")
class Member:
    id: strawberry.ID
    email: str
    display_name: str | None
    account_role: AccountRole
    status: MemberStatus
    invited_at: datetime
    accepted_at: datetime | None
    expires_at: datetime | None = strawberry.field(
        description="When the pending invitation expires (null unless PENDING)."
    )
    member: strawberry.Private[MemberModel]
    known_account: strawberry.Private[Known[AccountRef | None] | None] = None
    known_shares: strawberry.Private[list[Share] | None] = None

    @classmethod
    def of(cls, m: MemberModel) -> Member:
        return cls(
            id=strawberry.ID(str(m.id)), email=m.email, display_name=m.display_name,
            account_role=m.account_role, status=m.status, invited_at=m.invited_at,
            accepted_at=m.accepted_at,
            expires_at=m.invitation_expires_at if m.status is MemberStatus.PENDING else None,
            member=m,
        )  # fmt: skip

    def knowing(self, account: Known[AccountRef | None], shares: list[Share]) -> Member:
        """The same member with its account and shares already read (a page at once)."""
        self.known_account, self.known_shares = account, shares
        return self

    @strawberry.field(description="The collaborator's account, once the invitation is accepted.")
    def account(self, info: Info) -> AccountRef | None:
        if self.known_account is not None:
            return self.known_account.value
        if self.member.account_id is None:
            return None
        return cast("AccountRef | None", Later(lambda: self._account(info)))

    async def _account(self, info: Info) -> AccountRef | None:
        assert self.member.account_id is not None
        account = await info.context.loaders.account.load(self.member.account_id)
        return AccountRef.of(account) if account else None

    @strawberry.field
    def shares(self, info: Info) -> list[Share]:
        if self.known_shares is not None:
            return self.known_shares
        return cast(list[Share], Later(lambda: self._shares(info)))

    async def _shares(self, info: Info) -> list[Share]:
        shares = await info.context.loaders.shares_by_member.load(self.member.id)
        return [Share.of(s, self.member.owner_id) for s in shares]


@strawberry.type(description="The invitee's view of a PENDING member; `id` is the member's id.")
class Invitation:
    id: strawberry.ID
    email: str
    status: MemberStatus
    expires_at: datetime | None
    owner_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, m: MemberModel) -> Invitation:
        return cls(
            id=strawberry.ID(str(m.id)), email=m.email, status=m.status,
            expires_at=m.invitation_expires_at, owner_id=m.owner_id,
        )  # fmt: skip

    @strawberry.field
    async def owner(self, info: Info) -> AccountRef:
        return AccountRef.of(await info.context.loaders.account.load(self.owner_id))


@strawberry.type
class MemberPayload:
    member: Member | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
