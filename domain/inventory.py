"""Inventory: an owner's environments made to match the platform's `getenvs` (section 6).

One `getenvs` call, then one transaction of set-based writes: new platform environments
are inserted at the root of the owner's tree (no group), ours that the platform no longer
lists become DELETED (their shares stay, for the audit log, and grant nothing: a deleted
environment is invisible and refuses every action), display names and statuses follow.
Groups, shares and roles stay ours. A `getenvs` that fails, or answers anything but a
complete list, raises before anything is written: a failed sync changes nothing.

Environments with an operation still open are left to that operation, and so are those
created or changed after the `getenvs` answer was asked for (it cannot know them yet).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from domain import outbox, versions
from domain.clock import utcnow
from domain.environments import NAME_PATTERN
from domain.errors import conflict, not_found, validation
from domain.jobs import Job
from domain.unit_of_work import AfterCommit, unit_of_work
from infra.paas_client import PaasClient, PlatformEnvironment
from models import Account, Environment, EnvironmentStatus, Member, MemberStatus

log = logging.getLogger(__name__)

BATCH = 1000  # rows per INSERT / UPDATE statement


@dataclass(frozen=True)
class SyncReport:
    added: int = 0
    updated: int = 0
    deleted: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)


def _status(found: PlatformEnvironment, current: EnvironmentStatus | None) -> EnvironmentStatus:
    if found.running:
        return EnvironmentStatus.RUNNING
    if found.stopped:
        return EnvironmentStatus.STOPPED
    return current or EnvironmentStatus.RUNNING  # busy: the last settled status stays


async def sync_owner(
    owner: Account, client: PaasClient, after_commit: AfterCommit | None
) -> SyncReport:
    """Raises `PlatformError` (nothing written) when the platform gives no full answer."""
    if not owner.platform_uid:
        return SyncReport()
    asked_at = utcnow()
    listed = await client.getenvs(owner.platform_uid)
    theirs: dict[str, PlatformEnvironment] = {}
    for found in listed:
        if NAME_PATTERN.fullmatch(found.name):
            theirs[found.name] = found
        else:
            log.warning("platform environment %r: not a name we can hold, left out", found.name)
    async with unit_of_work(after_commit):
        ours = {
            env.name: env
            for env in await Environment.filter(owner_id=owner.id, name_slot="")
            .select_for_update()
        }  # fmt: skip
        new = [
            Environment(
                id=uuid.uuid4(),
                owner_id=owner.id,
                created_by_id=owner.id,
                name=name,
                display_name=found.display_name[:120],
                status=_status(found, None),
                platform_busy=not (found.running or found.stopped),
                name_slot="",
            )
            for name, found in theirs.items()
            if name not in ours
        ]
        changed: list[Environment] = []
        gone: list[Environment] = []
        for name, env in ours.items():
            if env.open_operation_id is not None or env.updated_at >= asked_at:
                continue
            match = theirs.get(name)
            if match is None:
                env.status = EnvironmentStatus.DELETED
                env.name_slot = str(env.id)
                env.platform_busy = False
                gone.append(env)
                continue
            status = _status(match, env.status)
            busy = not (match.running or match.stopped)
            display = match.display_name[:120]
            if (status, busy, display) != (env.status, env.platform_busy, env.display_name):
                env.status, env.platform_busy, env.display_name = status, busy, display
                changed.append(env)
        if new:
            await Environment.bulk_create(new, batch_size=BATCH)
        now = utcnow()
        for env in changed + gone:
            env.updated_at = now
        if changed:
            await Environment.bulk_update(
                changed, fields=["status", "platform_busy", "display_name", "updated_at"],
                batch_size=BATCH,
            )  # fmt: skip
        if gone:
            await Environment.bulk_update(
                gone, fields=["status", "platform_busy", "name_slot", "updated_at"],
                batch_size=BATCH,
            )  # fmt: skip
        report = SyncReport(len(new), len(changed), len(gone))
        if report.changed:
            members = await Member.filter(
                owner_id=owner.id, status=MemberStatus.ACTIVE, account_id__not_isnull=True
            ).values_list("account_id", flat=True)
            versions.touch_owner(owner.id)
            outbox.notify([owner.id, *members], "environment.sync", owner.id)
    return report


MAX_PLATFORM_UID = 120


async def link_account(account_id: uuid.UUID, platform_uid: str, sync: bool) -> Account:
    """`platformLinkAccount`, in the caller's unit of work; queues a first sync when the
    platform is the http one (`sync`)."""
    uid = platform_uid.strip()
    if not uid:
        raise validation("The platform uid is empty", "platformUid")
    if len(uid) > MAX_PLATFORM_UID:
        raise validation(f"At most {MAX_PLATFORM_UID} characters", "platformUid")
    account = await Account.filter(id=account_id).select_for_update().first()
    if account is None:
        raise not_found("Account", "accountId")
    if await Account.exists(platform_uid=uid, id__not=account.id):
        raise conflict("Another account is linked to this platform account", "platformUid")
    account.platform_uid = uid
    try:
        await account.save(update_fields=["platform_uid", "updated_at"])
    except IntegrityError:
        raise conflict(
            "Another account is linked to this platform account", "platformUid"
        ) from None
    versions.touch_account(account.id)
    versions.touch_owner(account.id)
    if sync:
        await request_sync(account.id)
    return account


async def request_sync(owner_id: uuid.UUID) -> None:
    await outbox.add(Job.PLATFORM_SYNC, {"owner_id": str(owner_id)})


async def owner_of(platform_uid: str) -> Account | None:
    uid = platform_uid.strip()
    return await Account.get_or_none(platform_uid=uid) if uid else None
