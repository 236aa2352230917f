from __future__ import annotations

import uuid
from collections import defaultdict

import strawberry

from domain import access, rate_limit, versions
from domain import members as lifecycle
from domain.account_care import is_verified
from domain.clock import utcnow
from domain.errors import DomainError
from models import Member as MemberModel
from models import MemberStatus as Status
from models import Share as ShareModel
from models import ShareRole, ShareTargetType
from schema.accounts.types import AccountRef
from schema.context import Context, Info
from schema.enums import MemberStatus
from schema.environments.types import Environment, EnvironmentGroup, EnvironmentsRoot
from schema.errors import ApiError
from schema.members.types import Invitation, Known, Member, Share, ShareTarget
from schema.roles.types import Role


async def with_shares(context: Context, rows: list[MemberModel]) -> list[Member]:
    """A page of members with their accounts and shares, each share with its target and
    roles, read in one query per kind: the page then resolves without a coroutine per
    member or share (300 members: the owner's busiest screen)."""
    loaders = context.loaders
    shares = await ShareModel.filter(member_id__in=[m.id for m in rows]).order_by("created_at")
    links = await ShareRole.filter(share_id__in=[s.id for s in shares]).values(
        "share_id", "role_id"
    )
    role_ids: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for link in links:
        role_ids[link["share_id"]].append(link["role_id"])
    roles = {r.id: Role.of(r) for r in await loaders.role.load_many(
        list({r for ids in role_ids.values() for r in ids})) if r}  # fmt: skip
    envs = {e.id: e for e in await loaders.environment.load_many(
        list({s.environment_id for s in shares if s.environment_id})) if e}  # fmt: skip
    groups = {g.id: g for g in await loaders.group.load_many(
        list({s.group_id for s in shares if s.group_id})) if g}  # fmt: skip
    accounts = {a.id: AccountRef.of(a) for a in await loaders.account.load_many(
        list({m.account_id for m in rows if m.account_id})) if a}  # fmt: skip
    owner_codes = access.sorted_codes(access.OWNER_POLICIES)

    def target(share: ShareModel, owner_id: uuid.UUID) -> ShareTarget | None:
        if share.target_type is ShareTargetType.ENVIRONMENT:
            env = envs.get(share.environment_id)
            return Environment.of(env, owner_codes) if env else None
        if share.target_type is ShareTargetType.GROUP:
            group = groups.get(share.group_id)
            return EnvironmentGroup.of(group, context) if group else None
        return EnvironmentsRoot(owner_id=owner_id)

    by_member: dict[uuid.UUID, list[ShareModel]] = defaultdict(list)
    for share in shares:
        by_member[share.member_id].append(share)

    def share_of(share: ShareModel, owner_id: uuid.UUID) -> Share:
        mine = sorted((roles[r] for r in role_ids[share.id] if r in roles), key=lambda r: r.name)
        return Share.of(share, owner_id, Known(target(share, owner_id)), mine)

    return [
        Member.of(m).knowing(
            Known(accounts.get(m.account_id) if m.account_id else None),
            [share_of(s, m.owner_id) for s in by_member[m.id]],
        )
        for m in rows
    ]


@strawberry.type
class MemberQuery:
    @strawberry.field(description='"Shared by me": the caller\'s members, every status by default.')
    async def members(self, info: Info, status: list[MemberStatus] | None = None) -> list[Member]:
        owner = info.context.caller()
        query = MemberModel.filter(owner_id=owner.id)
        if status is not None:
            query = query.filter(status__in=list(status))
        rows = await query.order_by("-invited_at", "email")
        return await with_shares(info.context, rows)

    @strawberry.field(
        description="The caller's pending invitations; empty until the caller's email is "
        "verified (the emailed invitation link works either way)."
    )
    async def invitations(self, info: Info) -> list[Invitation]:
        account = info.context.caller()
        if not is_verified(account):
            return []  # matching by email needs a proven email: see acceptInvitation(id)
        pending = await MemberModel.filter(
            email=account.email, status=Status.PENDING, invitation_expires_at__gt=utcnow()
        ).order_by("-invited_at")
        for member in pending:  # the list shrinks when one expires
            versions.valid_until(member.invitation_expires_at)
        return [Invitation.of(m) for m in pending]

    @strawberry.field(description="For the page behind the emailed link; needs no login.")
    async def invitation_by_token(self, info: Info, token: str) -> Invitation | None:
        versions.not_cacheable("token look-ups are rate limited")
        checks = [(rate_limit.TOKEN_GUESSES_PER_ADDRESS, info.context.client_address)]
        try:
            async with rate_limit.attempt(
                info.context.services.limiter, checks, "Too many invitation look-ups",
                rate_limit.token_refused,
            ):  # fmt: skip
                member = await lifecycle.invitation_by_token(token)
        except DomainError as error:
            raise ApiError.of(error) from None
        return Invitation.of(member)
