"""Previews against the real thing: on random trees, placements, shares (direct, group and
root; several roles; some ended, some ending later), members in several states and random
changes of each of the five kinds, applying the change to the database gives every member
exactly the previewed difference of effective policies, and a refused change is refused
by its preview with the same code and field.

"Effective policies" after the change are read back from the rows the mutation wrote, by
the resolver's own loader, so what is tested is that a plan's in-memory effect is what its
`apply` writes. Runs on SQLite and PostgreSQL; each example builds its own owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, event, example, given, settings, target
from hypothesis import strategies as st

from domain import access, environments, groups, members, previews
from domain.clock import utcnow
from domain.errors import DomainError
from domain.policies import BUILT_IN_ROLES
from domain.sharing import ShareRequest, target_key
from domain.unit_of_work import unit_of_work
from models import (
    Account,
    AccountKind,
    AccountRole,
    Environment,
    EnvironmentGroup,
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

BUILT_IN = [str(r.id) for r in BUILT_IN_ROLES]  # Full access, Limited access, Viewer, Creator
CUSTOM = "custom"  # stands for the owner's own role, made per example
ROLES = [*BUILT_IN, CUSTOM]
CUSTOM_POLICIES = ("deploy.vcs", "env.start", "access.ssh")
ENDS = ("never", "ended", "later")
STATUSES = [MemberStatus.ACTIVE] * 4 + [MemberStatus.SUSPENDED, MemberStatus.PENDING]


# -- the random world, as indices (ids exist only once it is written) --------------------


@dataclass(frozen=True)
class ShareDraft:
    target: tuple[str, int | None]  # ("root", None), ("group", i), ("env", i)
    roles: tuple[str, ...]
    ends: str


@dataclass(frozen=True)
class MemberDraft:
    status: MemberStatus
    trial_expired: bool
    admin: bool
    shares: tuple[ShareDraft, ...]


@dataclass(frozen=True)
class Scenario:
    parents: tuple[int | None, ...]  # group i's parent (an earlier group) or None
    placements: tuple[frozenset[int], ...]  # environment i's groups
    members: tuple[MemberDraft, ...]
    change: tuple


def share_drafts(
    draw: st.DrawFn, n_groups: int, n_envs: int, live_only: bool, on_group: bool = False
) -> tuple:
    """`on_group`: the first share is on a group (tree changes matter to those only)."""
    targets = [("root", None), *(("group", g) for g in range(n_groups)),
               *(("env", e) for e in range(n_envs))]  # fmt: skip
    chosen = draw(st.lists(st.sampled_from(targets), unique=True, min_size=1, max_size=4))
    if on_group and n_groups:
        first = ("group", draw(st.integers(0, n_groups - 1)))
        chosen = [first, *(t for t in chosen if t != first)][:4]
    ends = ["never", "later"] if live_only else list(ENDS)
    return tuple(
        ShareDraft(target, tuple(draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=2,
                                               unique=True))), draw(st.sampled_from(ends)))
        for target in chosen
    )  # fmt: skip


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    kind = draw(st.sampled_from(["update", "share", "move", "add", "remove"]))
    n_groups = draw(st.integers(0 if kind in ("update", "share") else 1, 5))
    parents = tuple(draw(st.sampled_from([None, *range(i)])) for i in range(n_groups))
    n_envs = draw(st.integers(1, 4))
    # Every other environment sits in at least one group (when there are groups).
    placements = tuple(
        draw(st.frozensets(st.integers(0, n_groups - 1), min_size=1 - i % 2, max_size=2))
        if n_groups else frozenset()
        for i in range(n_envs)
    )  # fmt: skip
    # The first member counts (ACTIVE, no ended trial); the others may not.
    drafts = tuple(
        MemberDraft(draw(st.sampled_from(STATUSES)) if i else MemberStatus.ACTIVE,
                    bool(i) and draw(st.sampled_from([False] * 4 + [True])), draw(st.booleans()),
                    share_drafts(draw, n_groups, n_envs, live_only=False, on_group=not i))
        for i in range(draw(st.integers(1, 3)))
    )  # fmt: skip
    member = st.integers(0, len(drafts) - 1)
    env = st.integers(0, n_envs - 1)
    if kind == "update":
        keep = draw(st.integers(0, 3)) == 0  # mostly new shares; sometimes the role only
        new_shares = None if keep else share_drafts(draw, n_groups, n_envs, live_only=True)
        role = draw(st.sampled_from([None, AccountRole.ADMIN, AccountRole.VIEWER]))
        change: tuple = ("update", draw(member), new_shares, role)
    elif kind == "share":
        who = draw(st.lists(member, unique=True, min_size=1, max_size=len(drafts)))
        grants = tuple((m, tuple(draw(st.lists(st.sampled_from(ROLES), max_size=2, unique=True))))
                       for m in who)  # fmt: skip
        change = ("share", draw(env), grants)
    elif kind == "move":
        # Mostly a group that holds environments, to a new place (any, a cycle included).
        holding = sorted({g for held_by in placements for g in held_by})
        moved = draw(st.sampled_from(holding) | st.integers(0, n_groups - 1))
        below = {moved}
        for g in range(n_groups):  # parents come before their children
            if parents[g] in below:
                below.add(g)
        elsewhere = [p for p in [None, *range(n_groups)] if p != parents[moved]]
        allowed = [p for p in elsewhere if p not in below]
        change = ("move", moved, draw(st.sampled_from(allowed) | st.sampled_from(elsewhere)
                                      if allowed else st.sampled_from(elsewhere)))  # fmt: skip
    else:
        # Mostly a placement that is not there yet (add) or is (remove); sometimes any.
        pairs = [(e, g) for e in range(n_envs) for g in range(n_groups)
                 if (g in placements[e]) == (kind == "remove")]  # fmt: skip
        anything = st.tuples(env, st.integers(0, n_groups - 1))
        change = (kind, *draw(st.sampled_from(pairs) | anything if pairs else anything))
    return Scenario(parents, placements, drafts, change)


# -- writing it ----------------------------------------------------------------------


@dataclass
class World:
    owner: Account
    groups: list[uuid.UUID]
    envs: list[uuid.UUID]
    members: list[Member]
    custom_role: uuid.UUID

    def role(self, name: str) -> uuid.UUID:
        return self.custom_role if name == CUSTOM else uuid.UUID(name)

    def target(self, target: tuple[str, int | None]) -> tuple[ShareTargetType, uuid.UUID | None]:
        kind, index = target
        if kind == "root":
            return ShareTargetType.ROOT, None
        assert index is not None
        if kind == "group":
            return ShareTargetType.GROUP, self.groups[index]
        return ShareTargetType.ENVIRONMENT, self.envs[index]

    def request(self, draft: ShareDraft) -> ShareRequest:
        kind, target = self.target(draft.target)
        return ShareRequest(
            environment_id=str(target) if kind is ShareTargetType.ENVIRONMENT else None,
            group_id=str(target) if kind is ShareTargetType.GROUP else None,
            root=kind is ShareTargetType.ROOT or None, role_ids=[str(self.role(r)) for r in draft.roles],
            expires_at=None if draft.ends == "never" else utcnow() + timedelta(days=1),
        )  # fmt: skip


async def account(kind: AccountKind = AccountKind.FULL, trial_expired: bool = False) -> Account:
    ends = utcnow() - timedelta(days=1) if trial_expired else None
    return await Account.create(
        id=uuid.uuid4(), email=f"{uuid.uuid4().hex[:12]}@preview.example", password_hash="-",
        kind=AccountKind.TRIAL if trial_expired else kind, trial_ends_at=ends,
    )  # fmt: skip


async def write(s: Scenario) -> World:
    """The scenario's rows, a bulk insert per table (parents before children)."""
    owner = await account()
    now = utcnow()
    role = await Role.create(
        id=uuid.uuid4(), owner=owner, name="Deployer", owner_slot=str(owner.id)
    )
    await RolePolicy.bulk_create(
        [RolePolicy(id=uuid.uuid4(), role_id=role.id, policy_id=p) for p in CUSTOM_POLICIES]
    )
    group_ids = [uuid.uuid4() for _ in s.parents]
    env_ids = [uuid.uuid4() for _ in s.placements]
    await EnvironmentGroup.bulk_create([
        EnvironmentGroup(id=group_ids[i], owner=owner, parent_id=parent_id,
                         parent_slot=str(parent_id or ""), name=f"g{i}")
        for i, parent_id in enumerate(None if p is None else group_ids[p] for p in s.parents)
    ])  # fmt: skip
    await Environment.bulk_create([
        Environment(id=env_ids[i], owner=owner, created_by=owner, name=f"env-{i}",
                    status=EnvironmentStatus.RUNNING)
        for i in range(len(env_ids))
    ])  # fmt: skip
    await GroupEnvironment.bulk_create([
        GroupEnvironment(id=uuid.uuid4(), group_id=group_ids[g], environment_id=env_ids[e])
        for e, held_by in enumerate(s.placements) for g in held_by
    ])  # fmt: skip
    world = World(owner, group_ids, env_ids, [], role.id)
    shares: list[Share] = []
    share_roles: list[ShareRole] = []
    for i, draft in enumerate(s.members):
        collaborator = await account(AccountKind.COLLABORATOR, draft.trial_expired)
        world.members.append(Member(
            id=uuid.uuid4(), owner=owner, email=f"m{i}-{collaborator.email}",
            account=None if draft.status is MemberStatus.PENDING else collaborator,
            account_role=AccountRole.ADMIN if draft.admin else AccountRole.VIEWER,
            status=draft.status, invited_at=now, open_slot=f"m{i}-{collaborator.email}",
        ))  # fmt: skip
        for share in draft.shares:
            kind, target = world.target(share.target)
            ends = {"never": None, "ended": now - timedelta(hours=1),
                    "later": now + timedelta(days=1)}[share.ends]  # fmt: skip
            shares.append(Share(
                id=uuid.uuid4(), member_id=world.members[-1].id, target_type=kind, expires_at=ends,
                environment_id=target if kind is ShareTargetType.ENVIRONMENT else None,
                group_id=target if kind is ShareTargetType.GROUP else None,
                target_key=target_key(kind, target),
            ))  # fmt: skip
            share_roles += [ShareRole(id=uuid.uuid4(), share_id=shares[-1].id,
                                      role_id=world.role(r)) for r in share.roles]  # fmt: skip
    await Member.bulk_create(world.members)
    await Share.bulk_create(shares)
    await ShareRole.bulk_create(share_roles)
    return world


# -- the change, as its plan ------------------------------------------------------------


async def plan(w: World, change: tuple) -> members.MemberUpdatePlan | environments.SharePlan | (
    groups.MovePlan | groups.PlacementPlan
):  # fmt: skip
    kind = change[0]
    if kind == "update":
        _, m, new_shares, role = change
        requests = None if new_shares is None else [w.request(d) for d in new_shares]
        changes = members.MemberChanges(account_role=role, shares=requests)
        return await members.plan_update(w.owner, w.members[m].id, changes)
    if kind == "share":
        _, e, grants = change
        requests = [environments.GrantRequest(str(w.members[m].id), [str(w.role(r)) for r in roles])
                    for m, roles in grants]  # fmt: skip
        return await environments.plan_share(w.owner, w.envs[e], requests)
    if kind == "move":
        _, g, parent = change
        parent_id = None if parent is None else w.groups[parent]
        return await groups.plan_move(w.owner, w.groups[g], parent_id, parent is not None)
    _, e, g = change
    return await groups.plan_placement(w.owner, w.envs[e], w.groups[g], add=kind == "add")


async def apply(w: World, change: tuple) -> None:
    """The mutation's own domain call (plan, then apply), in its unit of work."""
    kind = change[0]
    async with unit_of_work(None):
        if kind == "update":
            _, m, new_shares, role = change
            requests = None if new_shares is None else [w.request(d) for d in new_shares]
            await members.update(w.owner, w.members[m].id,
                                 members.MemberChanges(account_role=role, shares=requests))  # fmt: skip
        elif kind == "share":
            _, e, grants = change
            requests = [environments.GrantRequest(str(w.members[m].id),
                                                  [str(w.role(r)) for r in roles])
                        for m, roles in grants]  # fmt: skip
            await environments.share(w.owner, w.envs[e], requests)
        elif kind == "move":
            _, g, parent = change
            parent_id = None if parent is None else w.groups[parent]
            await groups.move(w.owner, w.groups[g], parent_id, parent is not None)
        elif kind == "add":
            await groups.add_environment(w.owner, w.envs[change[1]], w.groups[change[2]])
        else:
            await groups.remove_environment(w.owner, w.envs[change[1]], w.groups[change[2]])


async def effective(w: World) -> dict[tuple[uuid.UUID, uuid.UUID], frozenset[str]]:
    """Every member's effective policies on every environment, read from the database."""
    fresh = await Member.filter(id__in=[m.id for m in w.members])
    accounts = {a.id: a for a in await Account.filter(id__in=[m.account_id for m in fresh
                                                                if m.account_id])}  # fmt: skip
    snapshots = await access.load_snapshots(w.owner.id, fresh, accounts)
    return {(m.id, e): snapshots[m.id].policies(e) for m in fresh for e in w.envs}


def known(change: tuple) -> Scenario:
    """A small world where each kind of change does something: groups g0 and g1 at the top,
    g2 under g0; env-0 in g0, env-1 in g1, env-2 in none; an ACTIVE member with Viewer on
    g0, a SUSPENDED one with Full access at the root."""
    viewer, full = BUILT_IN[2], BUILT_IN[0]
    return Scenario(
        parents=(None, None, 0), placements=(frozenset({0}), frozenset({1}), frozenset()),
        members=(MemberDraft(MemberStatus.ACTIVE, False, False,
                             (ShareDraft(("group", 0), (viewer,), "never"),)),
                 MemberDraft(MemberStatus.SUSPENDED, False, False,
                             (ShareDraft(("root", None), (full,), "never"),))),
        change=change,
    )  # fmt: skip


@example(
    scenario=known(("update", 0, (ShareDraft(("root", None), (BUILT_IN[0],), "later"),), None))
)
@example(scenario=known(("share", 0, ((0, (BUILT_IN[0],)), (1, ())))))
@example(scenario=known(("move", 1, 2)))
@example(scenario=known(("move", 0, 2)))  # under its own child: refused
@example(scenario=known(("add", 2, 2)))
@example(scenario=known(("remove", 0, 0)))
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(scenario=scenarios())
async def test_applying_a_change_does_exactly_what_its_preview_said(
    orm: None, scenario: Scenario
) -> None:
    w = await write(scenario)
    before = await effective(w)
    try:
        previewed = await previews.preview((await plan(w, scenario.change)).effect)
    except DomainError as refused:  # e.g. a group moved under its own descendant
        event(f"{scenario.change[0]}: refused")
        try:
            await apply(w, scenario.change)
        except DomainError as error:
            assert (error.code, error.field) == (refused.code, refused.field)
        else:
            raise AssertionError(f"the preview refused what the mutation did: {refused!r}")
        assert await effective(w) == before
        return
    assert await effective(w) == before, "the preview changed something"
    event(f"{scenario.change[0]}: {'changes' if previewed else 'no change'}")
    target(float(len(previewed)), label=scenario.change[0])  # towards changes that matter
    await apply(w, scenario.change)
    after = await effective(w)
    happened = {
        key: (sorted(after[key] - before[key]), sorted(before[key] - after[key]))
        for key in before
        if after[key] != before[key]
    }
    assert {(c.member.id, c.environment.id): (c.gained, c.lost) for c in previewed} == happened
    assert len(previewed) == len(happened)  # one entry per member and environment
