"""Who hears about a load alert or a scaling event on an environment.

The owner always; an ACTIVE member when the roles counted for it on that environment (the
effective-policy rule of domain.access, so expired shares, suspensions and expired trials
all count) have `receiveLoadAlerts` (load alerts) or `scaling.horizontal.notify` (scaling
events). All members are resolved with one set-based snapshot load.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum

from domain.access import load_snapshots
from domain.policies import PolicyCode
from models import Account, Environment, Member, MemberStatus


class AlertKind(str, Enum):
    LOAD = "load"
    SCALING = "scaling"


@dataclass(frozen=True)
class Recipient:
    account_id: uuid.UUID
    email: str
    is_owner: bool


def receives(kind: AlertKind, policies: frozenset[str], receive_load_alerts: bool) -> bool:
    if kind is AlertKind.LOAD:
        return receive_load_alerts
    return PolicyCode.SCALING_HORIZONTAL_NOTIFY.value in policies


async def recipients(environment: Environment, kind: AlertKind) -> list[Recipient]:
    owner = await Account.get(id=environment.owner_id)
    members = await Member.filter(
        owner_id=owner.id, status=MemberStatus.ACTIVE, account_id__isnull=False
    )
    accounts = {a.id: a for a in await Account.filter(id__in=[m.account_id for m in members])}
    snapshots = await load_snapshots(owner.id, members, accounts)
    found = [Recipient(owner.id, owner.email, True)]
    seen = {owner.email}
    for member in sorted(members, key=lambda m: m.email):
        account = accounts.get(member.account_id) if member.account_id else None
        if account is None or account.email in seen:
            continue
        explanation = snapshots[member.id].explain(environment.id)
        if receives(kind, explanation.policies, explanation.receive_load_alerts):
            found.append(Recipient(account.id, account.email, False))
            seen.add(account.email)
    return found
