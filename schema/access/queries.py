from __future__ import annotations

import uuid
from typing import TypeVar

import strawberry

from domain import access
from domain.accounts import may_create_on_own_account, trial_expired
from domain.errors import ErrorCode
from domain.ids import parse_id
from domain.policies import PolicyCode
from models import Environment as EnvironmentModel
from models import EnvironmentGroup as GroupModel
from models import EnvironmentStatus, MemberStatus, ShareTargetType
from models import Member as MemberModel
from schema.access.types import AccessExplanation, AccessGrant, OwnerSection
from schema.context import Info
from schema.environments.types import Environment, EnvironmentGroup
from schema.errors import ApiError
from schema.members.types import Member


def _shared_tree_tops(snapshot: access.OwnerSnapshot, groups: list[GroupModel]) -> list[GroupModel]:
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


@strawberry.type
class AccessQuery:
    @strawberry.field(
        description='"Shared with me": one section per owner of whom the caller is an ACTIVE '
        "member, even when nothing is shared."
    )
    async def shared_with_me(self, info: Info) -> list[OwnerSection]:
        caller = info.context.caller()
        if trial_expired(caller):
            return []  # not counted as ACTIVE anywhere, worker or not
        members = await MemberModel.filter(account_id=caller.id, status=MemberStatus.ACTIVE)
        if not members:
            return []
        owner_ids = list({m.owner_id for m in members})
        loaders = info.context.loaders
        owners = {a.id: a for a in await loaders.account.load_many(owner_ids) if a}
        live_envs = await EnvironmentModel.filter(owner_id__in=owner_ids).exclude(
            status=EnvironmentStatus.DELETED
        )
        all_groups = await GroupModel.filter(owner_id__in=owner_ids).order_by("name")
        for env in live_envs:
            loaders.environment.prime(env.id, env)
        for group in all_groups:
            loaders.group.prime(group.id, group)
        view = PolicyCode.ENV_VIEW.value
        sections = []
        for member in sorted(members, key=lambda m: owners[m.owner_id].email):
            snapshot = await info.context.access.snapshot(member.owner_id)
            envs = sorted(
                (e for e in live_envs
                 if e.owner_id == member.owner_id and view in snapshot.policies(e.id)),
                key=lambda e: e.name,
            )  # fmt: skip
            groups = [g for g in all_groups if g.owner_id == member.owner_id]
            sections.append(OwnerSection(
                member=Member.of(member), owner_id=member.owner_id,
                can_create_environments=snapshot.can_create_anywhere()
                and may_create_on_own_account(owners[member.owner_id]),
                environments=[Environment.of(e) for e in envs],
                groups=[EnvironmentGroup.of(g) for g in _shared_tree_tops(snapshot, groups)],
            ))  # fmt: skip
        return sections

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
