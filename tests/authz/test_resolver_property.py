"""The effective-policy resolver against a plain, slow reference written from the
contract's words (CONTRACT.md section 1), on random trees, placements, shares and roles.

Pure in-memory: no database, so a few hundred examples take a second or two.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.access import AccessLevel, MemberInfo, OwnerSnapshot, RoleInfo, ShareInfo
from models import AccountRole, MemberStatus, ShareTargetType

NOW = datetime(2030, 1, 1, tzinfo=UTC)
CODES = ["env.view", "env.start", "env.stop", "logs.view", "access.ssh", "env.create"]


@dataclass
class World:
    parents: dict[uuid.UUID, uuid.UUID | None]
    env_groups: dict[uuid.UUID, set[uuid.UUID]]
    envs: list[uuid.UUID]
    roles: dict[uuid.UUID, RoleInfo]
    shares: list[ShareInfo]
    member: MemberInfo


@st.composite
def worlds(draw: st.DrawFn) -> World:
    ids = iter(uuid.UUID(int=i + 1) for i in range(10_000))
    groups: list[uuid.UUID] = []
    parents: dict[uuid.UUID, uuid.UUID | None] = {}
    for _ in range(draw(st.integers(0, 7))):
        group = next(ids)
        parents[group] = draw(st.sampled_from([None, *groups]))
        groups.append(group)
    envs = [next(ids) for _ in range(draw(st.integers(1, 4)))]
    env_groups = {
        e: set(draw(st.lists(st.sampled_from(groups), max_size=3))) if groups else set()
        for e in envs
    }
    roles = {}
    for _ in range(draw(st.integers(1, 4))):
        role = next(ids)
        codes = frozenset(draw(st.lists(st.sampled_from(CODES), max_size=4)))
        roles[role] = RoleInfo(role, f"r{role.int}", codes, draw(st.booleans()))
    targets = (
        [(ShareTargetType.ROOT, None)]
        + [(ShareTargetType.GROUP, g) for g in groups]
        + [(ShareTargetType.ENVIRONMENT, e) for e in envs]
    )
    chosen = draw(st.lists(st.sampled_from(targets), unique=True, max_size=6))
    shares = []
    for kind, target in chosen:
        role_ids = tuple(draw(st.lists(st.sampled_from(list(roles)), min_size=1, max_size=2,
                                       unique=True)))  # fmt: skip
        expires = draw(st.sampled_from([None, NOW - timedelta(hours=1), NOW + timedelta(hours=1)]))
        shares.append(ShareInfo(next(ids), kind, target, role_ids, expires))
    member = MemberInfo(
        id=next(ids),
        status=draw(st.sampled_from([MemberStatus.ACTIVE] * 4 + list(MemberStatus))),
        account_role=draw(st.sampled_from(list(AccountRole))),
        account_trial_expired=draw(st.booleans()),
    )
    return World(parents, env_groups, envs, roles, shares, member)


# -- the reference, one sentence of the contract at a time ----------------------------


def counts(world: World) -> bool:
    """ "They are empty unless the member is ACTIVE and its account is not an expired trial.\""""
    return world.member.status is MemberStatus.ACTIVE and not world.member.account_trial_expired


def live(world: World) -> list[ShareInfo]:
    """ "Expired shares do not count.\""""
    return [s for s in world.shares if s.expires_at is None or s.expires_at > NOW]


def share_on(world: World, kind: ShareTargetType, target: uuid.UUID | None) -> ShareInfo | None:
    return next((s for s in live(world) if s.target_type is kind and s.target_id == target), None)


def nearest_shared(world: World, group: uuid.UUID) -> ShareInfo | None:
    """ "take the share on that group or, if none, on its nearest ancestor that has one\""""
    current: uuid.UUID | None = group
    while current is not None:
        found = share_on(world, ShareTargetType.GROUP, current)
        if found is not None:
            return found
        current = world.parents[current]
    return None


def reference_explain(
    world: World, env: uuid.UUID, as_if_active: bool = False
) -> tuple[AccessLevel, frozenset[str]]:
    direct = share_on(world, ShareTargetType.ENVIRONMENT, env)
    if direct is not None:
        level, counted = AccessLevel.DIRECT, [direct]
    else:
        found = [nearest_shared(world, g) for g in world.env_groups[env]]
        counted = [s for s in found if s is not None]
        level = AccessLevel.GROUP
        if not counted:
            root = share_on(world, ShareTargetType.ROOT, None)
            level, counted = (AccessLevel.ROOT, [root]) if root else (AccessLevel.NONE, [])
    if not counts(world) and not as_if_active:  # not active: nothing applies, level NONE
        return AccessLevel.NONE, frozenset()
    if not counted:
        return level, frozenset()
    # "Effective policies are the union of the policies of the counted roles", and any
    # share that covers the environment implies env.view.
    policies = {"env.view"}
    for share in counted:
        for role in share.role_ids:
            policies |= world.roles[role].policies
    return level, frozenset(policies)


def reference_can_create(world: World, group: uuid.UUID | None) -> bool:
    """ "env.create in group G: decided by the share on G or, if none, its nearest ancestor
    that has one, else the root share. At the root: a root share holding it, or ADMIN.\""""
    if not counts(world):
        return False

    def holds(share: ShareInfo) -> bool:
        return any("env.create" in world.roles[r].policies for r in share.role_ids)

    if group is not None:
        found = nearest_shared(world, group)
        if found is not None:
            return holds(found)
    if world.member.account_role is AccountRole.ADMIN:
        return True
    root = share_on(world, ShareTargetType.ROOT, None)
    return root is not None and holds(root)


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_resolver_matches_the_reference(world: World) -> None:
    snapshot = OwnerSnapshot(
        owner_id=uuid.UUID(int=0), group_parent=world.parents, env_groups=world.env_groups,
        member=world.member, shares=world.shares, roles=world.roles, now=NOW,
    )  # fmt: skip
    for env in world.envs:
        level, policies = reference_explain(world, env)
        explanation = snapshot.explain(env)
        assert explanation.policies == policies
        assert explanation.level is level
        # What would apply once active (grantsWhenActive / levelWhenActive / policiesWhenActive).
        level_then, policies_then = reference_explain(world, env, as_if_active=True)
        assert explanation.level_when_active is level_then
        assert explanation.policies_when_active == policies_then
        if not policies:
            assert explanation.reason is not None
        assert snapshot.policies(env) == policies
    for group in [None, *world.parents]:
        assert snapshot.can_create(group) is reference_can_create(world, group)
