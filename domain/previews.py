"""Who gains or loses what through a planned change, before it is applied.

The sharing mutations are "plan, then apply": a plan (domain.members, domain.environments,
domain.groups) holds everything validated and says, as an `AccessEffect`, how it alters
the inputs of the effective-policy resolver (a member's shares, the tree, the placements).
A preview runs the resolver (domain.access.OwnerSnapshot) on the inputs as they are and as
the effect leaves them, in memory, and compares: there is no second copy of the rule, and
nothing is written. The reads are the resolver's own set-based loads, a fixed handful of
queries whatever the numbers of members and environments.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from domain import access, records
from domain.access import OwnerSnapshot, ShareInfo, Tree
from domain.records import EnvironmentRecord
from models import Account, Environment, EnvironmentStatus, Member, MemberStatus

SharesEdit = Callable[[list[ShareInfo]], list[ShareInfo]]
TreeEdit = Callable[[Tree], Tree]


@dataclass(frozen=True)
class AccessEffect:
    """How a planned change alters the resolver's inputs for one owner."""

    owner_id: uuid.UUID
    # The members whose shares change; None: a change of the tree, which can reach every
    # ACTIVE member (nobody else has effective policies to change).
    members: Sequence[Member] | None = None
    shares: Mapping[uuid.UUID, SharesEdit] = field(default_factory=dict)
    tree: TreeEdit | None = None
    # The only environments the change can reach, given the tree before it; None: any.
    environments: Callable[[Tree], Iterable[uuid.UUID]] | None = None


@dataclass(frozen=True)
class AccessChange:
    member: Member
    environment: EnvironmentRecord
    gained: list[str]
    lost: list[str]


async def preview(effect: AccessEffect) -> list[AccessChange]:
    """One entry per member and live environment whose effective policies the change
    alters, by member email and environment name; codes sorted."""
    members = (
        list(effect.members)
        if effect.members is not None
        else await Member.filter(owner_id=effect.owner_id, status=MemberStatus.ACTIVE)
    )
    if not members:
        return []
    account_ids = list({m.account_id for m in members if m.account_id is not None})
    accounts = {a.id: a for a in await Account.filter(id__in=account_ids)} if account_ids else {}
    before = await access.load_snapshots(effect.owner_id, members, accounts)
    first = before[members[0].id]
    tree: Tree = (first.group_parent, first.env_groups)
    parents, env_groups = effect.tree(tree) if effect.tree is not None else tree

    shares_after = {
        m.id: effect.shares[m.id](list(before[m.id].shares)) if m.id in effect.shares
        else before[m.id].shares
        for m in members
    }  # fmt: skip
    roles = dict(first.roles)
    wanted = {r for ss in shares_after.values() for s in ss for r in s.role_ids} - roles.keys()
    if wanted:
        roles |= await access.load_roles(wanted)
    after = {
        m.id: OwnerSnapshot(effect.owner_id, parents, env_groups, before[m.id].member,
                            shares_after[m.id], roles, before[m.id].now)
        for m in members
    }  # fmt: skip

    envs = await _live_environments(effect, tree)
    changes: list[AccessChange] = []
    for member in sorted(members, key=lambda m: (m.email, str(m.id))):
        old, new = before[member.id], after[member.id]
        for env in envs:
            was, will = old.policies(env.id), new.policies(env.id)
            if was != will:
                changes.append(AccessChange(member, env, sorted(will - was), sorted(was - will)))
    return changes


async def _live_environments(effect: AccessEffect, tree: Tree) -> list[EnvironmentRecord]:
    if effect.environments is None:
        return await records.live_environments([effect.owner_id])
    ids = list(set(effect.environments(tree)))
    if not ids:
        return []
    rows = (
        await Environment.filter(id__in=ids, owner_id=effect.owner_id)
        .exclude(status=EnvironmentStatus.DELETED)
        .order_by("name")
        .values(*records.ENVIRONMENT_FIELDS)
    )
    return [EnvironmentRecord(**row) for row in rows]
