"""Per-request dataloaders, one class per access path, plus the caller's access cache.

Created in `get_context` for every request: a module-level loader would cache across
requests and users.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from domain import access, paas
from domain.access import OwnerSnapshot
from models import (
    Account,
    Environment,
    EnvironmentGroup,
    EnvironmentOperation,
    EnvironmentStatus,
    GroupEnvironment,
    Member,
    MemberStatus,
    Role,
    RolePolicy,
    Share,
    ShareRole,
)

M = TypeVar("M", bound=Model)


class ByIdLoader(DataLoader[uuid.UUID, Any], Generic[M]):
    model: type[Model]

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Any]:
        rows = {row.pk: row for row in await self.model.filter(id__in=list(keys))}
        return [rows.get(k) for k in keys]


class AccountByIdLoader(ByIdLoader[Account]):
    model = Account


class EnvironmentByIdLoader(ByIdLoader[Environment]):
    model = Environment


class GroupByIdLoader(ByIdLoader[EnvironmentGroup]):
    model = EnvironmentGroup


class MemberByIdLoader(ByIdLoader[Member]):
    model = Member


class RoleByIdLoader(ByIdLoader[Role]):
    model = Role


class GroupedLoader(DataLoader[uuid.UUID, list[Any]]):
    """Loads, for many keys at once, the list of things hanging off each key."""

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[list[Any]]:
        grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for key, value in await self.fetch(list(keys)):
            grouped[key].append(value)
        return [grouped.get(k, []) for k in keys]

    async def fetch(self, keys: list[uuid.UUID]) -> list[tuple[uuid.UUID, Any]]:
        raise NotImplementedError


class PolicyCodesByRoleIdLoader(GroupedLoader):
    async def fetch(self, keys: list[uuid.UUID]) -> list[tuple[uuid.UUID, Any]]:
        rows = (
            await RolePolicy.filter(role_id__in=keys)
            .order_by("policy_id")
            .values("role_id", "policy_id")
        )
        return [(r["role_id"], r["policy_id"]) for r in rows]


class SharesByMemberIdLoader(GroupedLoader):
    async def fetch(self, keys: list[uuid.UUID]) -> list[tuple[uuid.UUID, Any]]:
        return [
            (s.member_id, s) for s in await Share.filter(member_id__in=keys).order_by("created_at")
        ]


class RoleIdsByShareIdLoader(GroupedLoader):
    async def fetch(self, keys: list[uuid.UUID]) -> list[tuple[uuid.UUID, Any]]:
        rows = await ShareRole.filter(share_id__in=keys).values("share_id", "role_id")
        return [(r["share_id"], r["role_id"]) for r in rows]


class GroupIdsByEnvironmentIdLoader(GroupedLoader):
    async def fetch(self, keys: list[uuid.UUID]) -> list[tuple[uuid.UUID, Any]]:
        rows = await GroupEnvironment.filter(environment_id__in=keys).values(
            "environment_id", "group_id"
        )
        return [(r["environment_id"], r["group_id"]) for r in rows]


class EnvironmentsByGroupIdLoader(GroupedLoader):
    async def fetch(self, keys: list[uuid.UUID]) -> list[tuple[uuid.UUID, Any]]:
        rows = await GroupEnvironment.filter(group_id__in=keys).values("group_id", "environment_id")
        env_ids = list({r["environment_id"] for r in rows})
        envs = {
            e.id: e
            for e in await Environment.filter(id__in=env_ids)
            .exclude(status=EnvironmentStatus.DELETED)
            .order_by("name")
        }
        return [
            (r["group_id"], envs[r["environment_id"]]) for r in rows if r["environment_id"] in envs
        ]


class ChildrenByGroupIdLoader(GroupedLoader):
    async def fetch(self, keys: list[uuid.UUID]) -> list[tuple[uuid.UUID, Any]]:
        children = await EnvironmentGroup.filter(parent_id__in=keys).order_by("name")
        return [(g.parent_id, g) for g in children if g.parent_id is not None]


class ShareByIdLoader(ByIdLoader[Share]):
    model = Share


class OperationsByEnvironmentIdLoader(GroupedLoader):
    """What the PaaS backend did to each environment, oldest first."""

    async def fetch(self, keys: list[uuid.UUID]) -> list[tuple[uuid.UUID, Any]]:
        rows = await EnvironmentOperation.filter(environment_id__in=keys).order_by("at", "id")
        return [(r.environment_id, r) for r in rows]


class LastOperationByEnvironmentIdLoader(DataLoader[uuid.UUID, Any]):
    """Each environment's newest platform operation (`Environment.lastOperation`)."""

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Any]:
        rows = await EnvironmentOperation.filter(
            environment_id__in=list(keys), action__in=sorted(paas.PLATFORM_ACTIONS)
        ).order_by("-at", "-id")
        newest: dict[uuid.UUID, Any] = {}
        for row in rows:
            newest.setdefault(row.environment_id, row)
        return [newest.get(k) for k in keys]


class MemberSnapshotsByOwnerIdLoader(DataLoader[uuid.UUID, dict[uuid.UUID, OwnerSnapshot]]):
    """Every ACTIVE member of an owner with its snapshot (for the owner's own views)."""

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[dict[uuid.UUID, OwnerSnapshot]]:
        members = await Member.filter(owner_id__in=list(keys), status=MemberStatus.ACTIVE)
        account_ids = [m.account_id for m in members if m.account_id]
        accounts = {a.id: a for a in await Account.filter(id__in=account_ids)}
        result = []
        for owner_id in keys:
            mine = [m for m in members if m.owner_id == owner_id]
            result.append(await access.load_snapshots(owner_id, mine, accounts) if mine else {})
        return result


class Loaders:
    @cached_property
    def account(self) -> AccountByIdLoader:
        return AccountByIdLoader()

    @cached_property
    def environment(self) -> EnvironmentByIdLoader:
        return EnvironmentByIdLoader()

    @cached_property
    def group(self) -> GroupByIdLoader:
        return GroupByIdLoader()

    @cached_property
    def member(self) -> MemberByIdLoader:
        return MemberByIdLoader()

    @cached_property
    def role(self) -> RoleByIdLoader:
        return RoleByIdLoader()

    @cached_property
    def policy_codes_by_role(self) -> PolicyCodesByRoleIdLoader:
        return PolicyCodesByRoleIdLoader()

    @cached_property
    def shares_by_member(self) -> SharesByMemberIdLoader:
        return SharesByMemberIdLoader()

    @cached_property
    def role_ids_by_share(self) -> RoleIdsByShareIdLoader:
        return RoleIdsByShareIdLoader()

    @cached_property
    def group_ids_by_environment(self) -> GroupIdsByEnvironmentIdLoader:
        return GroupIdsByEnvironmentIdLoader()

    @cached_property
    def environments_by_group(self) -> EnvironmentsByGroupIdLoader:
        return EnvironmentsByGroupIdLoader()

    @cached_property
    def children_by_group(self) -> ChildrenByGroupIdLoader:
        return ChildrenByGroupIdLoader()

    @cached_property
    def share(self) -> ShareByIdLoader:
        return ShareByIdLoader()

    @cached_property
    def operations_by_environment(self) -> OperationsByEnvironmentIdLoader:
        return OperationsByEnvironmentIdLoader()

    @cached_property
    def last_operation(self) -> LastOperationByEnvironmentIdLoader:
        return LastOperationByEnvironmentIdLoader()

    @cached_property
    def member_snapshots_by_owner(self) -> MemberSnapshotsByOwnerIdLoader:
        return MemberSnapshotsByOwnerIdLoader()


async def _pick(
    loaded: asyncio.Future[dict[uuid.UUID, OwnerSnapshot]], owner_id: uuid.UUID
) -> OwnerSnapshot:
    return (await loaded)[owner_id]


class CallerAccess:
    """The caller's effective policies, one snapshot per owner per request."""

    def __init__(self, caller: Account | None, loaders: Loaders) -> None:
        self.caller = caller
        self.loaders = loaders
        self._snapshots: dict[uuid.UUID, asyncio.Task[OwnerSnapshot]] = {}

    async def snapshots_of(
        self, members: list[Member], groups: access.GroupsRead | None = None
    ) -> dict[uuid.UUID, OwnerSnapshot]:
        """Snapshots for the caller's own member records (one per owner), loaded together
        and kept for the rest of the request."""
        assert self.caller is not None
        missing = [m for m in members if m.owner_id not in self._snapshots]
        if missing:
            loaded = asyncio.ensure_future(
                access.load_caller_snapshots(self.caller, missing, groups)
            )
            for member in missing:
                self._snapshots[member.owner_id] = asyncio.ensure_future(
                    _pick(loaded, member.owner_id)
                )
        return {m.owner_id: await self._snapshots[m.owner_id] for m in members}

    async def snapshot(self, owner_id: uuid.UUID) -> OwnerSnapshot:
        task = self._snapshots.get(owner_id)
        if task is None:
            task = asyncio.ensure_future(self._load(owner_id))
            self._snapshots[owner_id] = task
        return await task

    async def _load(self, owner_id: uuid.UUID) -> OwnerSnapshot:
        assert self.caller is not None
        member = await access.membership_of(owner_id, self.caller.id)
        return await access.load_snapshot(owner_id, member)

    async def policies_on(self, environment_id: uuid.UUID) -> frozenset[str]:
        if self.caller is None:
            return frozenset()
        env = await self.loaders.environment.load(environment_id)
        if env is None:
            return frozenset()
        if env.owner_id == self.caller.id:
            return access.OWNER_POLICIES
        if env.status is EnvironmentStatus.DELETED:
            return frozenset()
        return (await self.snapshot(env.owner_id)).policies(env.id)

    def forget(self) -> None:
        """After a mutation changed shares or the tree, later reads must see the change."""
        self._snapshots.clear()
