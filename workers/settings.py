"""The arq worker: job functions, cron schedule, startup (database, mailer, relay).

`worker(settings, **overrides)` builds one (tests pass burst=True, poll_delay, a fast
retry policy...); `run_worker()` is what `collab worker` runs; `WorkerSettings` is for
arq's own CLI (`arq workers.settings.WorkerSettings`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Worker
from tortoise import Tortoise

from domain import paas
from infra import collector
from infra.db import tortoise_config
from infra.settings import Settings, get_settings
from workers import platform, relay
from workers.dispatch import RUN_OUTBOX_JOB, RedisAfterCommit
from workers.invitations import expire_invitations
from workers.mailer import Mailer
from workers.outages import ResilientWorker, retried_during_outages
from workers.reminders import remind_invitations, warn_trials
from workers.runner import JobEnv, Leases, RetryPolicy, run_outbox_job
from workers.trials import expire_trials

RELAY_INTERVAL = 0.5  # seconds; an email normally leaves within ~1 s of its commit
# How often arq looks for new jobs (arq's default is 0.5 s). A job enqueued after commit
# waits half of it on average before it starts: at 0.5 s that was a quarter of a
# 1,000-email fan-out's time. One cheap Redis read per poll.
POLL_DELAY = 0.05
JOB_TIMEOUT = 120

FUNCTIONS = [
    # max_tries is ours (RetryPolicy, counted in the outbox row), not arq's: arq must never
    # drop a job without running it, or the row would stay PENDING with no FAILED record.
    func(retried_during_outages(run_outbox_job), name=RUN_OUTBOX_JOB, max_tries=10_000, keep_result=0,
         timeout=JOB_TIMEOUT),
]  # fmt: skip


def cron_jobs(settings: Settings) -> list[CronJob]:
    """Built per worker: arq keeps each cron's next run on the object. Names carry the key
    prefix because arq's cron job ids are global to the Redis, not to the queue."""
    prefix = settings.REDIS_KEY_PREFIX
    return [
        cron(expire_trials, name=f"{prefix}:expire_trials", second=5, run_at_startup=True,
             timeout=JOB_TIMEOUT),
        cron(expire_invitations, name=f"{prefix}:expire_invitations", second=35,
             run_at_startup=True, timeout=JOB_TIMEOUT),
        cron(remind_invitations, name=f"{prefix}:remind_invitations", second=20,
             run_at_startup=True, timeout=JOB_TIMEOUT),
        cron(warn_trials, name=f"{prefix}:warn_trials", second=50, run_at_startup=True,
             timeout=JOB_TIMEOUT),
    ]  # fmt: skip


class GracefulWorker(ResilientWorker):
    """arq's worker riding out outages (workers.outages), and SIGTERM/SIGINT also tell
    running jobs to hand their rest back.

    arq alone would stop taking jobs and wait `job_completion_wait` for running ones; a
    long fan-out would then be cancelled mid-batch. Here the `stopping` event makes each
    batch stop after the email in hand and hand the job back (the row due at once, the
    arq job re-queued), so the worker exits within about one email's time and nothing is
    lost; the grace period only bounds a hand-off that hangs.
    """

    def jobs_to_start(self, job_ids: list[bytes]) -> list[bytes]:
        """arq leaves a running job in the queue until it ends, and checks each id it
        reads (three Redis round trips) on every poll; a job this worker is running is
        skipped without asking Redis, as arq would skip it after asking."""
        running = self.running_jobs()
        return [j for j in job_ids if (t := running.get(j.decode())) is None or t.done()]

    def handle_sig_wait_for_completion(self, signum: signal.Signals) -> None:
        stopping = self.ctx.get("stopping")
        if isinstance(stopping, asyncio.Event):
            stopping.set()
        super().handle_sig_wait_for_completion(signum)


async def on_startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.setdefault("settings", get_settings())
    ctx.setdefault("retry_policy", RetryPolicy())
    ctx.setdefault("stopping", asyncio.Event())
    leases = ctx["leases"] = Leases(settings.WORKER_LEASE_SECONDS)
    ctx["lease_task"] = asyncio.create_task(leases.renew_forever(), name="outbox-leases")
    if not Tortoise.is_inited():
        # Global fallback: job tasks need not inherit this task's Tortoise context.
        await Tortoise.init(
            config=tortoise_config(settings.DATABASE_URL, settings.SQLITE_BUSY_TIMEOUT_MS),
            _enable_global_fallback=True,
        )
        ctx["owns_database"] = True
    # Jobs written by the crons go straight to arq (and their live events to pub/sub).
    ctx["after_commit"] = RedisAfterCommit(ctx["redis"], settings)
    ctx["env"] = JobEnv(
        settings=settings, mailer=Mailer(settings), after_commit=ctx["after_commit"]
    )
    collector.tune(settings.GC_GEN0_THRESHOLD)
    paas.use_backend(paas.for_settings(settings))
    if settings.PAAS_BACKEND == "http":
        ctx["platform_sync_task"] = asyncio.create_task(
            platform.sync_forever(ctx["redis"], settings, ctx["after_commit"]), name="platform-sync"
        )
    ctx["relay_task"] = asyncio.create_task(
        relay.relay_forever(
            ctx["redis"],
            settings.queue_name,
            ctx.get("relay_interval", RELAY_INTERVAL),
            ctx["after_commit"],
        ),
        name="outbox-relay",
    )


async def on_shutdown(ctx: dict[str, Any]) -> None:
    await relay.stop(ctx.pop("relay_task", None))
    await relay.stop(ctx.pop("lease_task", None))
    await relay.stop(ctx.pop("platform_sync_task", None))
    await platform.close_clients()
    if ctx.pop("owns_database", False):
        await Tortoise.close_connections()


async def close_worker(arq_worker: Worker) -> None:
    """Closes a worker run in process (tests, the bench). arq's close() gathers the job
    tasks and re-raises one its shutdown cancelled, before on_shutdown ran: the relay would
    then outlive the database connection it polls. on_shutdown runs here in any case (a
    second run finds nothing left to stop)."""
    with contextlib.suppress(asyncio.CancelledError):
        await arq_worker.close()
    await on_shutdown(arq_worker.ctx)


def worker(
    settings: Settings | None = None,
    *,
    retry_policy: RetryPolicy | None = None,
    relay_interval: float = RELAY_INTERVAL,
    crons: bool = True,
    **overrides: Any,
) -> Worker:
    settings = settings or get_settings()
    ctx: dict[str, Any] = {
        "settings": settings,
        "stopping": asyncio.Event(),
        "retry_policy": retry_policy or RetryPolicy(),
        "relay_interval": relay_interval,
    }
    options: dict[str, Any] = {
        "functions": FUNCTIONS,
        "cron_jobs": cron_jobs(settings) if crons else None,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.queue_name,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "handle_signals": False,
        "poll_delay": POLL_DELAY,
        "ctx": ctx,
        **overrides,
    }
    return GracefulWorker(**options)


async def run_worker(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    arq_worker = worker(settings, handle_signals=True,
                        job_completion_wait=settings.WORKER_SHUTDOWN_GRACE_SECONDS)  # fmt: skip
    try:
        await arq_worker.async_run()
    except asyncio.CancelledError:
        # arq ends its main task by cancelling it after a signal: a clean stop, exit 0.
        if not arq_worker.ctx["stopping"].is_set():
            raise
    finally:
        await arq_worker.close()


class WorkerSettings:
    """For `arq workers.settings.WorkerSettings`; `collab worker` is equivalent."""

    functions = FUNCTIONS
    cron_jobs = cron_jobs(get_settings())
    on_startup = on_startup
    on_shutdown = on_shutdown
    poll_delay = POLL_DELAY
    queue_name = get_settings().queue_name
    redis_settings = RedisSettings.from_dsn(get_settings().redis_url)
