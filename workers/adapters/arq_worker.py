"""arq's worker below its public API: a hook around each poll and a filter on the jobs a
poll starts (workers.outages, workers.settings).

Relied on (arq 0.28): `Worker._poll_iteration()` runs once per poll from the main loop
(and its errors end the worker); `Worker.start_jobs(job_ids)` gets the ids a poll read;
`Worker.tasks` maps a running job's id to its task.
"""

from __future__ import annotations

import asyncio
from typing import Any

from arq.worker import Worker, func

from infra.adapters import AdapterBroken, require_attribute, require_parameters

ADAPTER = "workers.adapters.arq_worker"


class HookedWorker(Worker):
    """arq's worker with two hooks: `around_poll` (instead of arq's poll, which it runs
    through `poll_once`) and `jobs_to_start` (which of a poll's job ids to start)."""

    async def around_poll(self) -> None:
        await self.poll_once()

    async def poll_once(self) -> None:
        await super()._poll_iteration()

    def running_jobs(self) -> dict[str, asyncio.Task[Any]]:
        return self.tasks

    def jobs_to_start(self, job_ids: list[bytes]) -> list[bytes]:
        return job_ids

    async def _poll_iteration(self) -> None:
        await self.around_poll()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        await super().start_jobs(self.jobs_to_start(job_ids))


def verify() -> None:
    require_attribute(ADAPTER, Worker, "_poll_iteration")
    require_parameters(ADAPTER, Worker._poll_iteration)
    require_parameters(ADAPTER, Worker.start_jobs, "job_ids")
    worker = Worker(functions=[func(_noop, name="adapter-check")], burst=True)
    if not isinstance(getattr(worker, "tasks", None), dict):
        raise AdapterBroken(ADAPTER, "Worker.tasks is no longer a dict of running jobs")


async def _noop(ctx: dict[str, Any]) -> None:
    return None
