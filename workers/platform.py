"""Platform jobs: carrying an environment operation out, and syncing an owner's inventory.

Both talk to the platform through one pooled `PaasClient` per worker process (so one
circuit breaker per process). Neither fails its outbox row: an operation's failure is the
operation's (FAILED, with its code), and a sync that fails changes nothing and is tried
again at the next period or push.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from domain import inventory, platform_ops
from domain.clock import utcnow
from domain.unit_of_work import AfterCommit, unit_of_work
from infra.paas_client import CircuitBreaker, PaasClient, PlatformError
from infra.settings import Settings
from models import Account, OutboxJob

if TYPE_CHECKING:
    from workers.mailer import BatchReport
    from workers.runner import JobEnv

log = logging.getLogger(__name__)

_clients: dict[tuple[str, str, float], PaasClient] = {}


def client_for(settings: Settings) -> PaasClient:
    """This process's client (and breaker) for the configured platform."""
    key = (settings.PAAS_URL, settings.PAAS_TOKEN, settings.PAAS_TIMEOUT_SECONDS)
    client = _clients.get(key)
    if client is None:
        breaker = CircuitBreaker(settings.PAAS_BREAKER_THRESHOLD, settings.PAAS_BREAKER_SECONDS)
        client = _clients[key] = PaasClient(
            settings.PAAS_URL, settings.PAAS_TOKEN, settings.PAAS_TIMEOUT_SECONDS, breaker=breaker
        )
    return client


async def close_clients() -> None:
    clients = list(_clients.values())
    _clients.clear()
    for client in clients:
        with contextlib.suppress(Exception):
            await client.aclose()


async def run_operation(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    settings = env.settings
    await platform_ops.carry_out(
        uuid.UUID(str((row.payload or {})["operation_id"])), client_for(settings),
        env.after_commit, settings.PAAS_RETRY_SECONDS,
    )  # fmt: skip
    return None


async def sync_inventory(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    owner = await Account.get_or_none(id=(row.payload or {}).get("owner_id"))
    if owner is None:
        return None
    try:
        report = await inventory.sync_owner(owner, client_for(env.settings), env.after_commit)
    except PlatformError as exc:
        log.warning("platform sync of owner %s failed, nothing changed: %s", owner.id, exc)
        return None
    if report.changed:
        log.info("platform sync of owner %s: %s", owner.id, report)
    return None


async def queue_syncs(owner_ids: list[uuid.UUID], after_commit: AfterCommit | None) -> None:
    async with unit_of_work(after_commit):
        for owner_id in owner_ids:
            await inventory.request_sync(owner_id)


async def sync_forever(redis: Redis, settings: Settings, after_commit: AfterCommit) -> None:
    """Every PAAS_SYNC_SECONDS, one sync job per linked owner; with several workers, the
    one that claims the period's Redis key queues them."""
    period = settings.PAAS_SYNC_SECONDS
    while True:
        try:
            slot = int(utcnow().timestamp()) // period
            key = f"{settings.REDIS_KEY_PREFIX}:paas:sync:{slot}"
            if await redis.set(key, "1", nx=True, ex=period + 60):
                owners = await Account.filter(platform_uid__isnull=False).only("id")
                await queue_syncs([o.id for o in owners], after_commit)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis or the database away: the next period tries again
            log.warning("platform sync round: %s: %s", type(exc).__name__, exc)
        now = utcnow().timestamp()
        await asyncio.sleep(period - now % period + 0.01)
