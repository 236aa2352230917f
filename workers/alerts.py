"""Load-alert and scaling-event fan-out: one email per recipient, one SMTP connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.alerts import AlertKind, recipients
from models import Environment, EnvironmentStatus, OutboxJob
from workers import emails
from workers.mailer import BatchReport

if TYPE_CHECKING:
    from workers.runner import JobEnv


async def send_alerts(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    payload = row.payload or {}
    environment = await Environment.get_or_none(id=payload.get("environment_id"))
    if environment is None or environment.status is EnvironmentStatus.DELETED:
        return None
    kind = AlertKind(payload.get("kind", AlertKind.LOAD.value))
    message = str(payload.get("message", ""))
    batch = [
        emails.alert(
            key=f"alert:{row.id}:{r.email}",
            to=r.email,
            kind=kind.value,
            environment_name=environment.name,
            message=message,
        )
        for r in await recipients(environment, kind)
    ]
    return await env.send_all(batch)
