"""The effective-policy resolver: CONTRACT.md section 1, "the most specific level wins".

The rule is computed in memory over an `OwnerSnapshot` (one owner's tree, placements and
one member's shares), which `load_snapshot` reads with a fixed number of set-based queries.
So a page of environments costs the same handful of queries as a single one, and the
workers, the API and the property tests all run the very same code.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from domain import records, versions
from domain.accounts import trial_expired
from domain.clock import utcnow
from domain.policies import ALL_CODES, BUILT_IN_ROLES, PolicyCode
from domain.records import GroupRecord
from domain.side_by_side import side_by_side
from models import (
    Account,
    AccountRole,
    Environment,
    EnvironmentStatus,
    GroupEnvironment,
    Member,
    MemberStatus,
    Role,
    RolePolicy,
    Share,
    ShareRole,
    ShareTargetType,
)


class AccessLevel(str, Enum):
    DIRECT = "DIRECT"
    GROUP = "GROUP"
    ROOT = "ROOT"
    NONE = "NONE"


class EmptyReason(str, Enum):
    NOT_ACTIVE = "NOT_ACTIVE"
    SUSPENDED = "SUSPENDED"
    TRIAL_EXPIRED = "TRIAL_EXPIRED"
    SHARE_EXPIRED = "SHARE_EXPIRED"
    NO_SHARE = "NO_SHARE"


@dataclass(frozen=True)
class RoleInfo:
    id: uuid.UUID
    name: str
    policies: frozenset[str]
    receive_load_alerts: bool


@dataclass(frozen=True)
class ShareInfo:
    id: uuid.UUID
    target_type: ShareTargetType
    target_id: uuid.UUID | None  # environment or group id; None for the root
    role_ids: tuple[uuid.UUID, ...]
    expires_at: datetime | None

    def expired(self, now: datetime) -> bool:
        versions.valid_until(self.expires_at)  # a cached answer must end with the share
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class Grant:
    share: ShareInfo
    role: RoleInfo


@dataclass
class Explanation:
    policies: frozenset[str]
    level: AccessLevel
    grants: list[Grant] = field(default_factory=list)
    outranked: list[Grant] = field(default_factory=list)
    reason: EmptyReason | None = None
    receive_load_alerts: bool = False
    # What would count once the member is active (for an active member: the same as above).
    grants_when_active: list[Grant] = field(default_factory=list)
    level_when_active: AccessLevel = AccessLevel.NONE
    policies_when_active: frozenset[str] = frozenset()


@dataclass
class MemberInfo:
    id: uuid.UUID
    status: MemberStatus
    account_role: AccountRole
    account_trial_expired: bool


@dataclass
class OwnerSnapshot:
    """Everything the rule needs about one owner and (optionally) one member of it."""

    owner_id: uuid.UUID
    group_parent: dict[uuid.UUID, uuid.UUID | None]
    env_groups: dict[uuid.UUID, set[uuid.UUID]]
    member: MemberInfo | None = None
    shares: list[ShareInfo] = field(default_factory=list)
    roles: dict[uuid.UUID, RoleInfo] = field(default_factory=dict)
    now: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self._by_target = {(s.target_type, s.target_id): s for s in self.shares}
        # A page of environments mostly repeats a handful of share combinations: the
        # answer per environment and the union per combination are computed once.
        self._policies: dict[uuid.UUID, frozenset[str]] = {}
        self._sorted: dict[uuid.UUID, list[str]] = {}
        self._union: dict[tuple[uuid.UUID, ...], frozenset[str]] = {}
        self._inactive: EmptyReason | bool | None = False  # False: not computed yet

    # -- share lookup -------------------------------------------------------------
    def _share_on(self, kind: ShareTargetType, target: uuid.UUID | None) -> ShareInfo | None:
        return self._by_target.get((kind, target))

    def _live(self, share: ShareInfo | None) -> ShareInfo | None:
        return share if share is not None and not share.expired(self.now) else None

    def _deciding_shares(self, environment_id: uuid.UUID) -> tuple[ShareInfo, ...]:
        """The live shares of the most specific level that decides this environment."""
        direct = self._live(self._share_on(ShareTargetType.ENVIRONMENT, environment_id))
        if direct is not None:
            return (direct,)
        found: list[ShareInfo] = []
        for group_id in self.env_groups.get(environment_id, ()):
            share = self._nearest_group_share(group_id)[0]
            if share is not None and share not in found:
                found.append(share)
        if found:
            return tuple(found)
        root = self._live(self._share_on(ShareTargetType.ROOT, None))
        return (root,) if root is not None else ()

    def _union_of(self, shares: tuple[ShareInfo, ...]) -> frozenset[str]:
        key = tuple(sorted(s.id for s in shares))
        union = self._union.get(key)
        if union is None:
            codes = {PolicyCode.ENV_VIEW.value}
            for share in shares:
                for role_id in share.role_ids:
                    role = self.roles.get(role_id)
                    if role is not None:
                        codes |= role.policies
            union = self._union[key] = frozenset(codes)
        return union

    def _nearest_group_share(self, group_id: uuid.UUID) -> tuple[ShareInfo | None, bool]:
        """The live share on the group or its nearest shared ancestor; and whether an
        expired share was passed over on the way (for the explanation)."""
        seen_expired = False
        current: uuid.UUID | None = group_id
        visited: set[uuid.UUID] = set()
        while current is not None and current not in visited:
            visited.add(current)
            share = self._share_on(ShareTargetType.GROUP, current)
            if share is not None:
                if not share.expired(self.now):
                    return share, seen_expired
                seen_expired = True
            current = self.group_parent.get(current)
        return None, seen_expired

    def _grants(self, shares: Iterable[ShareInfo]) -> list[Grant]:
        return [
            Grant(share, self.roles[role_id])
            for share in shares
            for role_id in share.role_ids
            if role_id in self.roles
        ]

    # -- the rule -----------------------------------------------------------------
    def explain(self, environment_id: uuid.UUID) -> Explanation:
        expired_seen = False
        direct = self._share_on(ShareTargetType.ENVIRONMENT, environment_id)
        if direct is not None and direct.expired(self.now):
            expired_seen, direct = True, None

        group_shares: list[ShareInfo] = []
        for group_id in sorted(self.env_groups.get(environment_id, ()), key=str):
            share, passed_expired = self._nearest_group_share(group_id)
            expired_seen = expired_seen or passed_expired
            if share is not None and share not in group_shares:
                group_shares.append(share)

        root = self._share_on(ShareTargetType.ROOT, None)
        if root is not None and root.expired(self.now):
            expired_seen, root = True, None

        if direct is not None:
            level, counted = AccessLevel.DIRECT, [direct]
            beaten = group_shares + ([root] if root else [])
        elif group_shares:
            level, counted, beaten = AccessLevel.GROUP, group_shares, [root] if root else []
        elif root is not None:
            level, counted, beaten = AccessLevel.ROOT, [root], []
        else:
            level, counted, beaten = AccessLevel.NONE, [], []

        grants, outranked = self._grants(counted), self._grants(beaten)
        policies: set[str] = set()
        for grant in grants:
            policies |= grant.role.policies
        if level is not AccessLevel.NONE:
            policies.add(PolicyCode.ENV_VIEW.value)
        alerts = any(g.role.receive_load_alerts for g in grants)

        reason = self._inactive_reason()
        if reason is not None:
            # Nothing applies while the member is not active; what would apply once it is
            # stays visible beside the reason.
            return Explanation(
                frozenset(), AccessLevel.NONE, [], [], reason, False,
                grants_when_active=grants, level_when_active=level,
                policies_when_active=frozenset(policies),
            )  # fmt: skip
        if level is AccessLevel.NONE:
            reason = EmptyReason.SHARE_EXPIRED if expired_seen else EmptyReason.NO_SHARE
            policies, alerts = set(), False
        return Explanation(
            frozenset(policies), level, grants, outranked, reason, alerts,
            level_when_active=level, policies_when_active=frozenset(policies),
        )  # fmt: skip

    def _inactive_reason(self) -> EmptyReason | None:
        if self._inactive is False:
            self._inactive = self._compute_inactive_reason()
        return self._inactive  # type: ignore[return-value]

    def _compute_inactive_reason(self) -> EmptyReason | None:
        member = self.member
        if member is None:
            return EmptyReason.NO_SHARE
        if member.status is MemberStatus.SUSPENDED:
            return EmptyReason.SUSPENDED
        if member.status is MemberStatus.TRIAL_EXPIRED or (
            member.status is MemberStatus.ACTIVE and member.account_trial_expired
        ):
            return EmptyReason.TRIAL_EXPIRED
        if member.status is not MemberStatus.ACTIVE:
            return EmptyReason.NOT_ACTIVE
        return None

    def policies(self, environment_id: uuid.UUID) -> frozenset[str]:
        """What `explain(...).policies` says, without building the explanation."""
        known = self._policies.get(environment_id)
        if known is not None:
            return known
        if self._inactive_reason() is not None:
            result: frozenset[str] = frozenset()
        else:
            deciding = self._deciding_shares(environment_id)
            result = self._union_of(deciding) if deciding else frozenset()
        self._policies[environment_id] = result
        return result

    def sorted_policies(self, environment_id: uuid.UUID) -> list[str]:
        """`policies` as the API lists them (sorted), one list per distinct set."""
        known = self._sorted.get(environment_id)
        if known is None:
            policies = self.policies(environment_id)
            known = self._sorted[environment_id] = sorted_codes(policies)
        return known

    def can_create(self, group_id: uuid.UUID | None) -> bool:
        """`env.create` in a group (nearest shared ancestor, else root) or at the root."""
        if self._inactive_reason() is not None:
            return False
        create = PolicyCode.ENV_CREATE.value
        if group_id is not None and group_id in self.group_parent:
            share, _ = self._nearest_group_share(group_id)
            if share is not None:
                return any(create in g.role.policies for g in self._grants([share]))
        # The root level: the root share, plus `env.create` from `accountRole: ADMIN`.
        if self.member is not None and self.member.account_role is AccountRole.ADMIN:
            return True
        root = self._live(self._share_on(ShareTargetType.ROOT, None))
        return root is not None and any(create in g.role.policies for g in self._grants([root]))

    def covers_group(self, group_id: uuid.UUID) -> bool:
        """Whether a live share reaches this group (its own, an ancestor's or the root's),
        so the member may see the group itself in the tree."""
        if self._inactive_reason() is not None:
            return False
        if self._nearest_group_share(group_id)[0] is not None:
            return True
        return self._live(self._share_on(ShareTargetType.ROOT, None)) is not None

    def can_create_anywhere(self) -> bool:
        if self._inactive_reason() is not None:
            return False
        return self.can_create(None) or any(self.can_create(g) for g in self.group_parent)


OWNER_POLICIES: frozenset[str] = ALL_CODES


@functools.lru_cache(maxsize=1024)
def sorted_codes(policies: frozenset[str]) -> list[str]:
    """Callers must not mutate the list: it is shared by every environment with that set."""
    return sorted(policies)


# -- loading ------------------------------------------------------------------------


_BUILT_IN_INFO = {
    r.id: RoleInfo(r.id, r.name, frozenset(p.value for p in r.policies), r.receive_load_alerts)
    for r in BUILT_IN_ROLES
}


async def load_roles(role_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, RoleInfo]:
    """Built-in roles come from the catalogue in code (read-only, synced at migrate), so a
    member holding only those costs no role query."""
    wanted = set(role_ids)
    found = {i: _BUILT_IN_INFO[i] for i in wanted if i in _BUILT_IN_INFO}
    ids = list(wanted - found.keys())
    if not ids:
        return found
    rows = await Role.filter(id__in=ids).values("id", "name", "receive_load_alerts")
    codes: dict[uuid.UUID, set[str]] = defaultdict(set)
    for link in await RolePolicy.filter(role_id__in=ids).values("role_id", "policy_id"):
        codes[link["role_id"]].add(link["policy_id"])
    return found | {
        row["id"]: RoleInfo(row["id"], row["name"], frozenset(codes[row["id"]]),
                            row["receive_load_alerts"])
        for row in rows
    }  # fmt: skip


async def load_tree(owner_id: uuid.UUID) -> tuple[dict, dict]:
    """The owner's group parents and, per live environment, the groups holding it."""
    return (await load_trees([owner_id]))[owner_id]


Tree = tuple[dict[uuid.UUID, uuid.UUID | None], dict[uuid.UUID, set[uuid.UUID]]]


GroupsRead = asyncio.Task[list[GroupRecord]]  # the groups, read by a caller that needs them too


async def load_trees(
    owner_ids: Iterable[uuid.UUID], groups: GroupsRead | None = None
) -> dict[uuid.UUID, Tree]:
    """`load_tree` for several owners: the groups and the placements, two statements side
    by side (or only the placements, when the caller reads these owners' groups itself;
    a task it started is awaited meanwhile)."""
    ids = list(set(owner_ids))
    trees: dict[uuid.UUID, Tree] = {oid: ({}, defaultdict(set)) for oid in ids}
    if not ids:
        return trees
    placements_read = GroupEnvironment.filter(group__owner_id__in=ids).values(
        "group_id", "environment_id", owner_id="group__owner_id"
    )
    # The caller's task is the caller's to cancel: should the placements fail, its
    # own read reports that failure, not a cancellation.
    found, placements = await side_by_side(
        records.groups_of(ids) if groups is None else asyncio.shield(groups), placements_read
    )
    for group in found:
        trees[group.owner_id][0][group.id] = group.parent_id
    for row in placements:
        trees[row["owner_id"]][1][row["environment_id"]].add(row["group_id"])
    return trees


async def load_shares(member_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ShareInfo]]:
    ids = list(set(member_ids))
    result: dict[uuid.UUID, list[ShareInfo]] = {mid: [] for mid in ids}
    if not ids:
        return result
    # The shares and their role links, side by side (the links by the shares' members).
    shares, links = await side_by_side(
        Share.filter(member_id__in=ids).values(
            "id", "member_id", "target_type", "environment_id", "group_id", "expires_at"
        ),
        ShareRole.filter(share__member_id__in=ids).values("share_id", "role_id"),
    )
    role_links: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for link in links:
        role_links[link["share_id"]].append(link["role_id"])
    for s in shares:
        kind = ShareTargetType(s["target_type"])
        target = s["environment_id"] if kind is ShareTargetType.ENVIRONMENT else s["group_id"]
        result[s["member_id"]].append(
            ShareInfo(s["id"], kind, target, tuple(sorted(role_links[s["id"]], key=str)),
                      s["expires_at"])
        )  # fmt: skip
    return result


def member_info(member: Member, account: Account | None, now: datetime) -> MemberInfo:
    return MemberInfo(
        id=member.id,
        status=member.status,
        account_role=member.account_role,
        account_trial_expired=account is not None and trial_expired(account, now),
    )


async def load_snapshots(
    owner_id: uuid.UUID, members: list[Member], accounts: dict[uuid.UUID, Account]
) -> dict[uuid.UUID, OwnerSnapshot]:
    """Snapshots for several members of one owner, sharing the tree and role reads."""
    now = utcnow()
    parents, env_groups = await load_tree(owner_id)
    shares = await load_shares(m.id for m in members)
    roles = await load_roles(r for ss in shares.values() for s in ss for r in s.role_ids)
    snapshots = {}
    for m in members:
        account = accounts.get(m.account_id) if m.account_id else None
        snapshots[m.id] = OwnerSnapshot(
            owner_id, parents, env_groups, member_info(m, account, now), shares[m.id], roles, now
        )
    return snapshots


async def load_caller_snapshots(
    account: Account, members: list[Member], groups: GroupsRead | None = None
) -> dict[uuid.UUID, OwnerSnapshot]:
    """One snapshot per owner for a caller's member records (one record per owner), all
    owners read in the same handful of queries: a member of twenty owners costs the same
    as a member of one."""
    now = utcnow()
    trees, shares = await side_by_side(
        load_trees([m.owner_id for m in members], groups), load_shares([m.id for m in members])
    )
    roles = await load_roles(r for ss in shares.values() for s in ss for r in s.role_ids)
    return {
        m.owner_id: OwnerSnapshot(
            m.owner_id, *trees[m.owner_id], member_info(m, account, now), shares[m.id], roles, now
        )
        for m in members
    }


async def load_snapshot(owner_id: uuid.UUID, member: Member | None) -> OwnerSnapshot:
    if member is None:
        parents, env_groups = await load_tree(owner_id)
        return OwnerSnapshot(owner_id, parents, env_groups)
    account = await Account.get_or_none(id=member.account_id) if member.account_id else None
    accounts = {account.id: account} if account else {}
    return (await load_snapshots(owner_id, [member], accounts))[member.id]


async def membership_of(owner_id: uuid.UUID, account_id: uuid.UUID) -> Member | None:
    """The caller's current member record with an owner (the open one, if any)."""
    return (
        await Member.filter(owner_id=owner_id, account_id=account_id)
        .order_by("-updated_at")
        .exclude(status__in=[MemberStatus.REMOVED, MemberStatus.LEFT, MemberStatus.REJECTED,
                             MemberStatus.EXPIRED])
        .first()
    )  # fmt: skip


async def live_environment_ids(owner_id: uuid.UUID) -> list[uuid.UUID]:
    rows = (
        await Environment.filter(owner_id=owner_id)
        .exclude(status=EnvironmentStatus.DELETED)
        .values_list("id", flat=True)
    )
    return [uuid.UUID(str(r)) for r in rows]


def visible_environment_ids(snapshot: OwnerSnapshot, env_ids: Iterable[uuid.UUID]) -> list:
    return [e for e in env_ids if PolicyCode.ENV_VIEW.value in snapshot.policies(e)]
