"""`sharedWithMeChanged`: a live nudge to re-read "Shared with me".

Events come from the gateway's EventBroker (Redis pub/sub), so a change committed by any
gateway replica or worker reaches a subscriber connected to any other. The event says
why and for which owner; the client re-queries `sharedWithMe` for the new state.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from functools import partial

import strawberry

from domain.access import membership_of
from domain.accounts import account_for_token
from domain.clock import utcnow
from domain.errors import ErrorCode
from domain.ids import parse_id
from models import MemberStatus
from schema.context import Info
from schema.errors import ApiError


@strawberry.type(description="Something that affects what the subscriber sees was changed.")
class SharedWithMeEvent:
    reason: str = strawberry.field(
        description="What happened, e.g. share.replace, share.set, member.suspend, "
        "member.trial_expired."
    )
    owner_id: strawberry.ID | None = strawberry.field(
        description="The owner whose environments are concerned."
    )
    at: datetime = strawberry.field(description="When this gateway received the change.")


async def _still_hears(account_id: uuid.UUID, owner_id: object, reason: str) -> bool:
    """A member hears about an owner's changes only while ACTIVE there; changes to the
    membership itself (suspension, removal, trial end, ...) always reach it."""
    if not owner_id or reason.startswith("member."):
        return True
    owner = parse_id(str(owner_id))
    member = await membership_of(owner, account_id) if owner else None
    return owner == account_id or (member is not None and member.status is MemberStatus.ACTIVE)


async def _session_live(token: str) -> bool:
    return await account_for_token(token) is not None


@strawberry.type
class SharedWithMeSubscription:
    @strawberry.subscription(
        description="Pushed when a share, role, group or member status affecting the logged-in "
        "account changes (graphql-transport-ws; authenticate in connection_init)."
    )
    async def shared_with_me_changed(
        self, info: Info
    ) -> AsyncGenerator[SharedWithMeEvent | None, None]:
        account = info.context.caller()
        broker = info.context.services.events
        if broker is None:
            raise ApiError(ErrorCode.INVALID_STATE, "Live updates are not available")
        token = info.context.session_token
        async for delivery in broker.listen(str(account.id)):
            event = delivery.data
            reason = str(event.get("reason", ""))
            owner = event.get("owner_id")
            # The socket outlives the log-in: re-checked on every event, so a revoked or
            # expired session ends the subscription instead of hearing more. Both checks
            # run once per event for all of one token's (or account's) subscriptions on
            # this gateway, not once per subscription.
            live = token is not None and await delivery.once(
                ("session", token), partial(_session_live, token)
            )
            if not live:
                raise ApiError(ErrorCode.UNAUTHENTICATED, "The session has ended; log in again")
            hears = await delivery.once(
                ("hears", account.id), partial(_still_hears, account.id, owner, reason)
            )
            if not hears:
                continue
            yield SharedWithMeEvent(
                reason=reason or "changed",
                owner_id=strawberry.ID(str(owner)) if owner else None,
                at=utcnow(),
            )
