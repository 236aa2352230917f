"""Share notifications: what became visible to a member, emailed as its account prefers.

"Visible" is `env.view` under the effective-policy rule (domain.access), evaluated when
the job runs. `share_notice` remembers what the member was told, so an environment is
announced once per member however the access came (direct, group, root, re-share after a
removal, trial restored). The account's `notification_preference`, also read when the job
runs, says how:

- EACH: one email per environment, key `share:<member>:<environment>`; the notices are
  written once the emails went out (or were found sent before, or in doubt).
- DIGEST: one email per job (one change), key `share-digest:<member>:<outbox id>`. The
  job first claims its environments in `share_notice` (`digest_outbox_id`; the unique
  member/environment pair means no other job can claim them too), then sends: a retry
  finds its claims and sends that same list, once.
- OFF: no email; the environments are recorded as told, so switching back later announces
  only what becomes visible from then on, not what was shared while notifications were off.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, cast

from domain import records
from domain.access import live_environment_ids, load_snapshot, visible_environment_ids
from domain.records import EnvironmentRecord
from models import (
    Account,
    Member,
    MemberStatus,
    NotificationPreference,
    OutboxJob,
    SentEmail,
    ShareNotice,
)
from workers import emails
from workers.mailer import BatchReport

if TYPE_CHECKING:
    from workers.runner import JobEnv


def dashboard_link(public_url: str, owner_id: uuid.UUID, environment_id: uuid.UUID) -> str:
    """The environment's place in the dashboard's "Shared with me"."""
    return f"{public_url}/app/shared/{owner_id}/{environment_id}"


def each_key(member_id: uuid.UUID, environment_id: uuid.UUID) -> str:
    return f"share:{member_id}:{environment_id}"


def digest_key(member_id: uuid.UUID, outbox_id: uuid.UUID) -> str:
    return f"share-digest:{member_id}:{outbox_id}"


async def newly_visible(member: Member) -> list[EnvironmentRecord]:
    snapshot = await load_snapshot(member.owner_id, member)
    visible = visible_environment_ids(snapshot, await live_environment_ids(member.owner_id))
    told = set(
        await ShareNotice.filter(member_id=member.id).values_list("environment_id", flat=True)
    )
    new = [e for e in visible if e not in told]
    if not new:
        return []
    return await records.environments_by_id(new, by_name=True)


async def _record(member: Member, environment_ids: list[uuid.UUID],
                  digest: uuid.UUID | None = None) -> None:  # fmt: skip
    await ShareNotice.bulk_create(
        [ShareNotice(id=uuid.uuid4(), member_id=member.id, environment_id=e,
                     digest_outbox_id=digest) for e in environment_ids],
        batch_size=500, ignore_conflicts=True,
    )  # fmt: skip


async def send_share_notices(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    member = await Member.get_or_none(id=(row.payload or {}).get("member_id"))
    if member is None or member.status is not MemberStatus.ACTIVE or member.account_id is None:
        return None
    account = await Account.get_or_none(id=member.account_id)
    claimed = await _claims(member, row.id)
    if claimed:  # an earlier run of this job began a digest: it ends as it began
        return await _send_digest(row, env, member, account, claimed)
    preference = account.notification_preference if account else NotificationPreference.EACH
    environments = await newly_visible(member)
    if not environments:
        return None
    if preference is NotificationPreference.OFF:
        await _record(member, [e.id for e in environments])
        return None
    if preference is NotificationPreference.DIGEST:
        return await _start_digest(row, env, member, account, environments)
    return await _send_each(env, member, account, environments)


async def _send_each(
    env: JobEnv, member: Member, account: Account | None, environments: list[EnvironmentRecord]
) -> BatchReport:
    owner = await Account.get(id=member.owner_id)
    to = account.email if account else member.email
    by_key = {each_key(member.id, e.id): e for e in environments}
    report = await env.send_all([
        emails.share_notice(
            key=key, to=to, owner_name=owner.display_name or owner.email,
            environment_name=environment.name,
            environment_display=environment.display_name,
            link=dashboard_link(env.settings.public_url, member.owner_id, environment.id),
        )
        for key, environment in by_key.items()
    ])  # fmt: skip
    # Told: what went out now or before (and what is in doubt: never announced twice).
    # A failed run remembers nothing; its retry finds those keys sent and remembers them.
    await _record(member, [by_key[e.key].id for e in [*report.sent, *report.skipped]])
    return report


async def _claims(member: Member, outbox_id: uuid.UUID) -> list[uuid.UUID]:
    claims = ShareNotice.filter(member_id=member.id, digest_outbox_id=outbox_id)
    return cast("list[uuid.UUID]", await claims.values_list("environment_id", flat=True))


async def _start_digest(
    row: OutboxJob, env: JobEnv, member: Member, account: Account | None,
    environments: list[EnvironmentRecord],
) -> BatchReport | None:  # fmt: skip
    # One by one before (the account chose EACH until just now): told, not listed again.
    singly = {each_key(member.id, e.id): e.id for e in environments}
    found = await SentEmail.filter(key__in=list(singly)).values_list("key", flat=True)
    emailed = set(cast("list[str]", found))
    await _record(member, [singly[k] for k in emailed])
    await _record(member, [v for k, v in singly.items() if k not in emailed], digest=row.id)
    claimed = await _claims(member, row.id)  # another job may have claimed some first
    return await _send_digest(row, env, member, account, claimed) if claimed else None


async def _send_digest(
    row: OutboxJob, env: JobEnv, member: Member, account: Account | None,
    claimed: list[uuid.UUID],
) -> BatchReport | None:  # fmt: skip
    environments = await records.environments_by_id(claimed, by_name=True)
    if not environments:
        return None
    owner = await Account.get(id=member.owner_id)
    public_url = env.settings.public_url
    report = await env.send_all([emails.share_digest(
        key=digest_key(member.id, row.id), to=account.email if account else member.email,
        owner_name=owner.display_name or owner.email,
        environments=[emails.SharedEnvironment(
            e.name, e.display_name, dashboard_link(public_url, member.owner_id, e.id)
        ) for e in environments],
        overview_link=f"{public_url}/app/shared-with-me",
    )])  # fmt: skip
    if report.refused:  # refused for good: not told, so a later change may announce them
        await ShareNotice.filter(member_id=member.id, digest_outbox_id=row.id).delete()
    return report
