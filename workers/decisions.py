"""Decision emails (the owner learns that an invitee accepted, rejected or left) and status
emails (the collaborator learns that the owner suspended, re-activated or removed them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models import Account, Member, OutboxJob
from workers import emails
from workers.mailer import BatchReport

if TYPE_CHECKING:
    from workers.runner import JobEnv


async def send_decision(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    payload = row.payload or {}
    decision = payload.get("decision")
    member = await Member.get_or_none(id=payload.get("member_id"))
    if member is None or decision not in emails.DECISION_SUBJECTS:
        return None
    owner = await Account.get(id=member.owner_id)
    email = emails.decision(
        key=f"decision:{row.id}", to=owner.email, member_email=member.email,
        member_name=member.display_name, decision=str(decision),
    )  # fmt: skip
    return await env.send_all([email])


async def send_member_status(row: OutboxJob, env: JobEnv) -> BatchReport | None:
    payload = row.payload or {}
    change = payload.get("change")
    member = await Member.get_or_none(id=payload.get("member_id"))
    if member is None or member.account_id is None or change not in emails.MEMBER_STATUS_TEXT:
        return None
    owner = await Account.get(id=member.owner_id)
    account = await Account.get_or_none(id=member.account_id)
    email = emails.member_status(
        key=f"status:{row.id}", to=account.email if account else member.email,
        owner_name=owner.display_name, owner_email=owner.email, change=str(change),
    )  # fmt: skip
    return await env.send_all([email])
