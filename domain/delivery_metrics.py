"""Gauges read from the database at scrape time: outbox depth, oldest pending row, emails
in doubt. Kept beside the delivery rules, since infra.metrics may not import models."""

from __future__ import annotations

from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from tortoise.functions import Count, Min

from models import OutboxJob, SentEmail


async def outbox_families(now: datetime) -> list[GaugeMetricFamily]:
    depth = GaugeMetricFamily(
        "collab_outbox_depth", "Outbox rows by status and job family.", labels=["status", "family"]
    )
    oldest = GaugeMetricFamily(
        "collab_outbox_oldest_pending_age_seconds",
        "Age of the oldest PENDING outbox row (0 when none).",
    )
    rows = (
        await OutboxJob.filter(status__in=["PENDING", "FAILED"])
        .annotate(n=Count("id"))
        .group_by("status", "job")
        .values("status", "job", "n")
    )
    for row in rows:
        status = getattr(row["status"], "value", row["status"])
        depth.add_metric([str(status), str(row["job"])], float(row["n"]))
    first = (
        await OutboxJob.filter(status="PENDING")
        .annotate(first=Min("created_at"))
        .first()
        .values("first")
    )
    started = first.get("first") if first else None
    oldest.add_metric([], max(0.0, (now - started).total_seconds()) if started else 0.0)
    in_doubt = GaugeMetricFamily(
        "collab_emails_in_doubt", "Emails whose fate is unknown, awaiting an operator."
    )
    in_doubt.add_metric([], float(await SentEmail.filter(status="IN_DOUBT").count()))
    return [depth, oldest, in_doubt]
