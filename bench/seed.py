"""Seeding one benchmark size with set-based inserts (bulk_create), not API calls.

Each size gets its own owners, so several sizes live side by side in one database and one
running gateway serves them all:

- the dashboard owner: `size` environments in a 4/12/12 group tree (4 top groups, 3
  children each, one grandchild each); the measured member holds two group shares of two
  roles each and a root share (Viewer);
- the big owner: `size` environments in a 5-level tree (4, 8, 16, 32, 64 groups) and 300
  members (active, pending, suspended, removed) with direct, group and root shares;
- a collaborator who is an active member of 20 owners that hold `size` environments in all;
- inviting owners for `inviteMember` (the mutation is capped per owner per hour).

Sessions are written with known tokens, so no request pays for argon2 or log-in.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from domain.clock import utcnow
from domain.policies import BUILT_IN_ROLES
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
    Session,
    Share,
    ShareRole,
    ShareTargetType,
)

FULL, LIMITED, VIEWER, CREATOR = (role.id for role in BUILT_IN_ROLES)
MEMBERS_OF_BIG_OWNER = 300
OWNERS_OF_MULTI_MEMBER = 20
BATCH = 1000


@dataclass
class SizeFixture:
    """What the scenarios of one size need: bearer tokens and expected counts."""

    size: int
    members: int
    dashboard_token: str
    owner_token: str
    multi_token: str
    invite_tokens: list[str]
    dashboard_account_id: str
    owner_account_id: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Rows:
    """Everything to insert, collected first and written in a few bulk statements."""

    accounts: list[Account] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    environments: list[Environment] = field(default_factory=list)
    groups: list[EnvironmentGroup] = field(default_factory=list)
    placements: list[GroupEnvironment] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    shares: list[Share] = field(default_factory=list)
    share_roles: list[ShareRole] = field(default_factory=list)

    async def write(self) -> None:
        # Parents before children: the foreign keys are checked on insert.
        await Account.bulk_create(self.accounts, batch_size=BATCH)
        await Session.bulk_create(self.sessions, batch_size=BATCH)
        await EnvironmentGroup.bulk_create(self.groups, batch_size=BATCH)
        await Environment.bulk_create(self.environments, batch_size=BATCH)
        await GroupEnvironment.bulk_create(self.placements, batch_size=BATCH)
        await Member.bulk_create(self.members, batch_size=BATCH)
        await Share.bulk_create(self.shares, batch_size=BATCH)
        await ShareRole.bulk_create(self.share_roles, batch_size=BATCH)


class _Seeder:
    def __init__(self, size: int, tag: str, rng: random.Random) -> None:
        self.size, self.tag, self.rng = size, tag, rng
        self.rows = _Rows()
        self.now = utcnow()

    def account(self, label: str, kind: AccountKind) -> tuple[Account, str]:
        account = Account(
            id=uuid.uuid4(), email=f"{label}-{self.tag}@bench.example",
            display_name=label.replace("-", " ").title(), password_hash="bench-no-login",
            kind=kind, trial_ends_at=None, email_verified_at=self.now,  # owners invite
        )  # fmt: skip
        token = secrets.token_urlsafe(24)
        self.rows.accounts.append(account)
        self.rows.sessions.append(Session(
            id=uuid.uuid4(), account_id=account.id,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=self.now + timedelta(days=2),
        ))  # fmt: skip
        return account, token

    def environments(self, owner: Account, count: int) -> list[Environment]:
        envs = [
            Environment(
                id=uuid.uuid4(), owner_id=owner.id, created_by_id=owner.id, name=f"env-{i:05d}",
                display_name=f"Environment {i}", name_slot="",
                status=EnvironmentStatus.STOPPED if i % 7 == 3 else EnvironmentStatus.RUNNING,
            )
            for i in range(count)
        ]  # fmt: skip
        self.rows.environments += envs
        return envs

    def tree(self, owner: Account, fanout: list[int]) -> list[list[EnvironmentGroup]]:
        """Levels of a group tree; `fanout[0]` top groups, then children per parent."""
        levels: list[list[EnvironmentGroup]] = []
        parents: list[EnvironmentGroup | None] = [None]
        for depth, children in enumerate(fanout):
            level = []
            for p, parent in enumerate(parents):
                for c in range(children):
                    level.append(EnvironmentGroup(
                        id=uuid.uuid4(), owner_id=owner.id,
                        parent_id=parent.id if parent else None,
                        parent_slot=str(parent.id) if parent else "",
                        name=f"group-{depth + 1}-{p}-{c}",
                    ))  # fmt: skip
            levels.append(level)
            parents = list(level)
        self.rows.groups += [g for level in levels for g in level]
        return levels

    def place(self, envs: list[Environment], groups: list[EnvironmentGroup]) -> None:
        """Each environment in one group, every tenth in a second one too."""
        for i, env in enumerate(envs):
            chosen = self.rng.sample(groups, k=2 if i % 10 == 0 else 1)
            self.rows.placements += [
                GroupEnvironment(id=uuid.uuid4(), group_id=g.id, environment_id=env.id)
                for g in chosen
            ]

    def member(
        self, owner: Account, email: str, account: Account | None, status: MemberStatus
    ) -> Member:
        open_record = status in (MemberStatus.PENDING, MemberStatus.ACTIVE, MemberStatus.SUSPENDED)
        member = Member(
            id=uuid.uuid4(), owner_id=owner.id, email=email,
            account_id=account.id if account and status is not MemberStatus.PENDING else None,
            account_role=AccountRole.ADMIN if self.rng.random() < 0.1 else AccountRole.VIEWER,
            status=status, invited_at=self.now - timedelta(days=3),
            accepted_at=None if status is MemberStatus.PENDING else self.now - timedelta(days=2),
            invitation_expires_at=self.now + timedelta(days=4)
            if status is MemberStatus.PENDING else None,
        )  # fmt: skip
        member.open_slot = email if open_record else str(member.id)
        self.rows.members.append(member)
        return member

    def share(
        self, member: Member, target: Environment | EnvironmentGroup | None, roles: list[uuid.UUID]
    ) -> None:
        if target is None:
            kind, key = ShareTargetType.ROOT, "root"
        elif isinstance(target, Environment):
            kind, key = ShareTargetType.ENVIRONMENT, f"env:{target.id}"
        else:
            kind, key = ShareTargetType.GROUP, f"group:{target.id}"
        share = Share(
            id=uuid.uuid4(), member_id=member.id, target_type=kind, target_key=key,
            environment_id=target.id if isinstance(target, Environment) else None,
            group_id=target.id if isinstance(target, EnvironmentGroup) else None,
        )  # fmt: skip
        self.rows.shares.append(share)
        self.rows.share_roles += [
            ShareRole(id=uuid.uuid4(), share_id=share.id, role_id=r) for r in roles
        ]


async def seed_size(
    size: int, invite_owners: int, members: int = MEMBERS_OF_BIG_OWNER, seed: int = 7
) -> SizeFixture:
    """Write one size's owners, members and shares (Tortoise must be initialised)."""
    rng = random.Random(seed * 100_003 + size)
    tag = f"{size}-{uuid.uuid4().hex[:6]}"
    s = _Seeder(size, tag, rng)

    # The dashboard: a 4/12/12 tree, two group shares of two roles and a root share.
    dash_owner, _ = s.account("dashboard-owner", AccountKind.FULL)
    dash_envs = s.environments(dash_owner, size)
    dash_levels = s.tree(dash_owner, [4, 3, 1])
    s.place(dash_envs, [g for level in dash_levels for g in level])
    viewer, dashboard_token = s.account("dashboard-member", AccountKind.COLLABORATOR)
    dash_member = s.member(dash_owner, viewer.email, viewer, MemberStatus.ACTIVE)
    s.share(dash_member, dash_levels[0][0], [FULL, CREATOR])
    s.share(dash_member, dash_levels[0][1], [LIMITED, VIEWER])
    s.share(dash_member, None, [VIEWER])

    # The big owner: a 5-level tree and 300 (`members`) members with direct, group and root shares.
    owner, owner_token = s.account("big-owner", AccountKind.FULL)
    envs = s.environments(owner, size)
    levels = s.tree(owner, [4, 2, 2, 2, 2])
    groups = [g for level in levels for g in level]
    s.place(envs, levels[-1] + levels[-2])
    # 80 % active, 10 % pending, then suspended and removed.
    statuses = [MemberStatus.ACTIVE if i % 10 < 8 else MemberStatus.PENDING if i % 10 == 8
                else MemberStatus.SUSPENDED if i % 20 == 9 else MemberStatus.REMOVED
                for i in range(members)]  # fmt: skip
    for i, status in enumerate(statuses):
        collaborator, _ = s.account(f"collaborator-{i}", AccountKind.COLLABORATOR)
        member = s.member(owner, collaborator.email, collaborator, status)
        roles = [FULL, LIMITED, VIEWER]
        for env in rng.sample(envs, k=min(len(envs), rng.randint(1, 4))):
            s.share(member, env, [rng.choice(roles)])
        for group in rng.sample(groups, k=rng.randint(0, 2)):
            s.share(member, group, rng.sample(roles, k=rng.randint(1, 2)))
        if i % 10 == 0:
            s.share(member, None, [VIEWER])

    # A collaborator of 20 owners, `size` environments in all.
    multi, multi_token = s.account("multi-member", AccountKind.COLLABORATOR)
    per_owner = max(5, size // OWNERS_OF_MULTI_MEMBER)
    for o in range(OWNERS_OF_MULTI_MEMBER):
        other, _ = s.account(f"owner-{o}", AccountKind.FULL)
        other_envs = s.environments(other, per_owner)
        other_groups = s.tree(other, [2, 2])
        s.place(other_envs, [g for level in other_groups for g in level])
        member = s.member(other, multi.email, multi, MemberStatus.ACTIVE)
        if o % 2:
            s.share(member, None, [LIMITED])
        else:
            s.share(member, other_groups[0][0], [FULL])
            for env in other_envs[: per_owner // 3]:
                s.share(member, env, [VIEWER])

    invite_tokens = [s.account(f"inviter-{i}", AccountKind.FULL)[1] for i in range(invite_owners)]
    await s.rows.write()
    return SizeFixture(
        size=size, members=members, dashboard_token=dashboard_token, owner_token=owner_token,
        multi_token=multi_token, invite_tokens=invite_tokens,
        dashboard_account_id=str(viewer.id), owner_account_id=str(owner.id),
        counts={name: len(rows) for name, rows in vars(s.rows).items()},
    )  # fmt: skip
