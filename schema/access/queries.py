from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import TypeVar

import strawberry

from domain import access, records
from domain.accounts import may_create_on_own_account, trial_expired
from domain.errors import ErrorCode
from domain.ids import parse_id
from domain.policies import PolicyCode
from domain.records import EnvironmentRecord, GroupRecord
from domain.side_by_side import side_by_side
from models import Account as AccountModel
from models import Environment as EnvironmentModel
from models import Member as MemberModel
from models import MemberStatus, ShareTargetType
from schema.access.types import AccessExplanation, AccessGrant, OwnerSection
from schema.context import Context, Info
from schema.environments.types import Environment, EnvironmentGroup
from schema.errors import ApiError
from schema.members.types import Member


def _shared_tree_tops(
    snapshot: access.OwnerSnapshot, groups: list[GroupRecord]
) -> list[GroupRecord]:
    """The topmost groups the member's live shares reach (the whole tree under a root
    share); their subtrees hang below them."""
    now = snapshot.now
    live = [s for s in snapshot.shares if not s.expired(now)]
    if any(s.target_type is ShareTargetType.ROOT for s in live):
        return [g for g in groups if g.parent_id is None]
    shared = {s.target_id for s in live if s.target_type is ShareTargetType.GROUP}
    tops = []
    for group in groups:
        if group.id not in shared:
            continue
        parent, covered = snapshot.group_parent.get(group.id), False
        while parent is not None and not covered:
            covered = parent in shared
            parent = snapshot.group_parent.get(parent)
        if not covered:
            tops.append(group)
    return tops


def _section(
    context: Context,
    member: MemberModel,
    owner: AccountModel,
    snapshot: access.OwnerSnapshot,
    envs: list[EnvironmentRecord],
    groups: list[GroupRecord],
) -> OwnerSection:
    """One owner's section, built in memory from rows already read: every field below it
    resolves without another query or coroutine."""
    view = PolicyCode.ENV_VIEW.value
    visible = [
        Environment.of(e, snapshot.sorted_policies(e.id))
        for e in envs
        if view in snapshot.policies(e.id)
    ]
    in_group: dict[uuid.UUID, list[Environment]] = defaultdict(list)
    for env in visible:  # by name, so each group's list is too
        for group_id in snapshot.env_groups.get(env.environment_id, ()):
            in_group[group_id].append(env)
    children: dict[uuid.UUID | None, list[GroupRecord]] = defaultdict(list)
    for group in groups:
        children[group.parent_id].append(group)

    def tree(group: GroupRecord) -> EnvironmentGroup:
        below = [tree(c) for c in children[group.id] if snapshot.covers_group(c.id)]
        return EnvironmentGroup.of(group, context, below, in_group[group.id])

    return OwnerSection(
        member=Member.of(member), owner_id=member.owner_id,
        can_create_environments=snapshot.can_create_anywhere()
        and may_create_on_own_account(owner),
        environments=visible, groups=[tree(g) for g in _shared_tree_tops(snapshot, groups)],
    )  # fmt: skip


@strawberry.type
class AccessQuery:
    @strawberry.field(
        description='"Shared with me": one section per owner of whom the caller is an ACTIVE '
        "member, even when nothing is shared. With `ownerId`, only that owner's section "
        '(the mobile "Environments owned by ..." screen; empty if the caller is no ACTIVE '
        "member of it)."
    )
    async def shared_with_me(
        self, info: Info, owner_id: strawberry.ID | None = None
    ) -> list[OwnerSection]:
        caller = info.context.caller()
        if trial_expired(caller):
            return []  # not counted as ACTIVE anywhere, worker or not
        query = MemberModel.filter(account_id=caller.id, status=MemberStatus.ACTIVE)
        if owner_id is not None:
            only = parse_id(owner_id)
            if only is None:
                return []
            query = query.filter(owner_id=only)
        members = await query.select_related("owner")
        if not members:
            return []
        owners = {m.owner_id: m.owner for m in members}
        for owner in owners.values():
            info.context.loaders.account.prime(owner.id, owner)

        # Only the member records come first; the rest side by side (domain.side_by_side).
        groups_read = asyncio.ensure_future(records.groups_of(list(owners)))
        all_groups, env_rows, snapshots = await side_by_side(
            groups_read,
            records.live_environments(list(owners)),
            info.context.access.snapshots_of(members, groups_read),
        )
        envs: dict[uuid.UUID, list[EnvironmentRecord]] = defaultdict(list)
        for env in env_rows:
            envs[env.owner_id].append(env)
        groups: dict[uuid.UUID, list[GroupRecord]] = defaultdict(list)
        for group in all_groups:
            groups[group.owner_id].append(group)
        return [
            _section(info.context, m, owners[m.owner_id], snapshots[m.owner_id], envs[m.owner_id],
                     groups[m.owner_id])
            for m in sorted(members, key=lambda m: owners[m.owner_id].email)
        ]  # fmt: skip

    @strawberry.field(description="Owner only: why a member has (or lacks) access.")
    async def explain_access(
        self, info: Info, member_id: strawberry.ID, environment_id: strawberry.ID
    ) -> AccessExplanation | None:
        owner = info.context.caller()
        member = await _owned(MemberModel, parse_id(member_id), owner.id)
        env = await _owned(EnvironmentModel, parse_id(environment_id), owner.id)
        if member is None:
            raise ApiError(ErrorCode.NOT_FOUND, "Member not found")
        if env is None:
            raise ApiError(ErrorCode.NOT_FOUND, "Environment not found")
        snapshot = await access.load_snapshot(owner.id, member)
        result = snapshot.explain(env.id)
        return AccessExplanation(
            policies=sorted(result.policies), level=result.level, reason=result.reason,
            grants=[AccessGrant.of(g, owner.id) for g in result.grants],
            outranked=[AccessGrant.of(g, owner.id) for g in result.outranked],
            receive_load_alerts=result.receive_load_alerts, member_model=member,
            grants_when_active=[AccessGrant.of(g, owner.id) for g in result.grants_when_active],
            level_when_active=result.level_when_active,
            policies_when_active=sorted(result.policies_when_active),
        )  # fmt: skip


M = TypeVar("M", MemberModel, EnvironmentModel)


async def _owned(model: type[M], object_id: uuid.UUID | None, owner_id: uuid.UUID) -> M | None:
    """The caller's own object; anyone else's, or a malformed id, is simply absent."""
    if object_id is None:
        return None
    return await model.filter(id=object_id, owner_id=owner_id).first()
