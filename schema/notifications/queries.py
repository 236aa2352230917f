from __future__ import annotations

import strawberry

from models import OutboxJob, OutboxStatus
from schema.context import Info
from schema.notifications.types import DeliveryFailure

MAX_FAILURES = 200


@strawberry.type
class NotificationQuery:
    @strawberry.field(
        description="Emails sent on the caller's behalf (as an owner) that failed for good, "
        "newest first."
    )
    async def failed_deliveries(self, info: Info) -> list[DeliveryFailure]:
        owner = info.context.caller()
        rows = (
            await OutboxJob.filter(owner_id=owner.id, status=OutboxStatus.FAILED)
            .order_by("-finished_at")
            .limit(MAX_FAILURES)
        )
        return [DeliveryFailure.of(row) for row in rows]
