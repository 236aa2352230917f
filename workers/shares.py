"""Share notifications: one email per environment that became visible to a member.

"Visible" is `env.view` under the effective-policy rule (domain.access), evaluated when
the job runs. `share_notice` remembers what the member was told, so an environment is
announced once per member however the access came (direct, group, root, re-share after a
removal, trial restored); the email key `share:<member>:<environment>` makes the send
itself idempotent.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from domain.access import live_environment_ids, load_snapshot, visible_environment_ids
from models import Account, Environment, Member, MemberStatus, OutboxJob, ShareNotice
from workers import emails
from workers.mailer import BatchReport

if TYPE_CHECKING:
    from workers.runner import JobEnv


def dashboard_link(public_url: str, owner_id: uuid.UUID, environment_id: uuid.UUID) -> str:
    """The environment's place in the dashboard's "Shared with me"."""
    return f"{public_url}/app/shared/{owner_id}/{environment_id}"


async def newly_visible(member: Member) -> list[Environment]:
    snapshot = await load_snapshot(member.owner_id, member)
    visible = visible_environment_ids(snapshot, await live_environment_ids(member.owner_id))
    told = set(
        await ShareNotice.filter(member_id=member.id).values_list("environment_id", flat=True)
    )
    new = [e for e in visible if e not in told]
    if not new:
        return []
    return list(await Environment.filter(id__in=new).order_by("name"))


async def send_share_notices(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    member = await Member.get_or_none(id=(row.payload or {}).get("member_id"))
    if member is None or member.status is not MemberStatus.ACTIVE or member.account_id is None:
        return None
    environments = await newly_visible(member)
    if not environments:
        return None
    owner = await Account.get(id=member.owner_id)
    account = await Account.get_or_none(id=member.account_id)
    to = account.email if account else member.email
    by_key = {f"share:{member.id}:{e.id}": e for e in environments}
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
    await ShareNotice.bulk_create(
        [ShareNotice(id=uuid.uuid4(), member_id=member.id, environment_id=by_key[e.key].id)
         for e in [*report.sent, *report.skipped]],
        batch_size=500, ignore_conflicts=True,
    )  # fmt: skip
    return report
