"""arq WorkerSettings (placeholder until the job families land)."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker

from collab.settings import get_settings


async def run_outbox_job(ctx: dict[str, Any], job_id: str) -> None:
    """Placeholder: the outbox jobs are implemented in the workers issue."""


def worker(**overrides: Any) -> Worker:
    settings = get_settings()
    return Worker(
        functions=[run_outbox_job],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=settings.queue_name,
        handle_signals=False,
        **overrides,
    )


async def run_worker() -> None:
    await worker().async_run()
