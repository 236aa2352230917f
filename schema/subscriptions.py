"""`sharedWithMeChanged`: a live nudge to re-read "Shared with me".

Events come from the gateway's EventBroker (Redis pub/sub), so a change committed by any
gateway replica or worker reaches a subscriber connected to any other. The event says
why and for which owner; the client re-queries `sharedWithMe` for the new state.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from domain.clock import utcnow
from domain.errors import ErrorCode
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
        async for event in broker.listen(str(account.id)):
            owner = event.get("owner_id")
            yield SharedWithMeEvent(
                reason=str(event.get("reason", "changed")),
                owner_id=strawberry.ID(str(owner)) if owner else None,
                at=utcnow(),
            )
