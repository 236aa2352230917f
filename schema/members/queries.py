from __future__ import annotations

import strawberry

from domain import members as lifecycle
from domain import rate_limit
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

    @strawberry.field(description="The caller's pending invitations.")
    async def invitations(self, info: Info) -> list[Invitation]:
        account = info.context.caller()
        pending = await MemberModel.filter(
            email=account.email, status=Status.PENDING, invitation_expires_at__gt=utcnow()
        ).order_by("-invited_at")
        return [Invitation.of(m) for m in pending]

    @strawberry.field(description="For the page behind the emailed link; needs no login.")
    async def invitation_by_token(self, info: Info, token: str) -> Invitation | None:
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
