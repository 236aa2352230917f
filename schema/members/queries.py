from __future__ import annotations

import strawberry

from domain import members as lifecycle
from domain import rate_limit, versions
from domain.account_care import is_verified
from domain.clock import utcnow
from domain.errors import DomainError
from models import Member as MemberModel
from models import MemberStatus as Status
from schema.context import Info
from schema.enums import MemberStatus
from schema.errors import ApiError
from schema.members.types import Invitation, Member


@strawberry.type
class MemberQuery:
    @strawberry.field(description='"Shared by me": the caller\'s members, every status by default.')
    async def members(self, info: Info, status: list[MemberStatus] | None = None) -> list[Member]:
        owner = info.context.caller()
        query = MemberModel.filter(owner_id=owner.id)
        if status is not None:
            query = query.filter(status__in=list(status))
        return [Member.of(m) for m in await query.order_by("-invited_at", "email")]

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
