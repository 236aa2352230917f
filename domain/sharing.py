"""Shares: validating share requests and writing them for a member.

Used by the member lifecycle (invite, update, copy, re-invite) and by sharing from the
environment. Everything is validated before the first write, so a refusal writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain import audit, outbox
from domain.access import ShareInfo
from domain.clock import utcnow
from domain.errors import not_found, validation
from domain.ids import parse_id
from domain.jobs import Job
from models import (
    Environment,
    EnvironmentGroup,
    EnvironmentStatus,
    Member,
    MemberStatus,
    Role,
    Share,
    ShareRole,
    ShareTargetType,
)

MAX_SHARES = 500


@dataclass
class ShareRequest:
    """One requested share as a client sends it (`ShareInput`)."""

    environment_id: str | None = None
    group_id: str | None = None
    root: bool | None = None
    role_ids: Sequence[str] = field(default_factory=list)
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ShareSpec:
    target_type: ShareTargetType
    target_id: uuid.UUID | None
    role_ids: tuple[uuid.UUID, ...]
    expires_at: datetime | None

    @property
    def target_key(self) -> str:
        return target_key(self.target_type, self.target_id)

    def info(self) -> ShareInfo:
        """The share as the resolver will read it once written (for previews)."""
        return ShareInfo(uuid.uuid4(), self.target_type, self.target_id,
                         tuple(sorted(self.role_ids, key=str)), self.expires_at)  # fmt: skip


def target_key(kind: ShareTargetType, target: uuid.UUID | None) -> str:
    if kind is ShareTargetType.ROOT:
        return "root"
    prefix = "env" if kind is ShareTargetType.ENVIRONMENT else "group"
    return f"{prefix}:{target}"


async def usable_role_ids(owner_id: uuid.UUID, role_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Roles an owner may hand out: the built-in ones and its own."""
    if not role_ids:
        return set()
    rows = await Role.filter(id__in=list(role_ids)).values("id", "owner_id", "built_in")
    return {r["id"] for r in rows if r["built_in"] or r["owner_id"] == owner_id}


async def parse_requests(
    owner_id: uuid.UUID, requests: Sequence[ShareRequest], field_name: str = "shares"
) -> list[ShareSpec]:
    if len(requests) > MAX_SHARES:
        raise validation(f"At most {MAX_SHARES} shares per member", field_name)
    env_ids: set[uuid.UUID] = set()
    group_ids: set[uuid.UUID] = set()
    role_ids: set[uuid.UUID] = set()
    drafts: list[tuple[ShareTargetType, uuid.UUID | None, list[uuid.UUID], datetime | None]] = []
    now = utcnow()
    for i, req in enumerate(requests):
        where = f"{field_name}[{i}]"
        targets = [req.environment_id is not None, req.group_id is not None, bool(req.root)]
        if sum(targets) != 1:
            raise validation("Give exactly one target: environmentId, groupId or root", where)
        if not req.role_ids:
            raise validation("Give at least one role", f"{where}.roleIds")
        roles = [parse_id(r) for r in req.role_ids]
        if any(r is None for r in roles):
            raise not_found("Role", f"{where}.roleIds")
        if req.expires_at is not None:
            if req.expires_at.tzinfo is None:
                raise validation("expiresAt needs a time zone", f"{where}.expiresAt")
            if req.expires_at <= now:
                raise validation("expiresAt must be in the future", f"{where}.expiresAt")
        target: uuid.UUID | None
        if req.environment_id is not None:
            kind, target = ShareTargetType.ENVIRONMENT, parse_id(req.environment_id)
            if target is None:
                raise not_found("Environment", f"{where}.environmentId")
            env_ids.add(target)
        elif req.group_id is not None:
            kind, target = ShareTargetType.GROUP, parse_id(req.group_id)
            if target is None:
                raise not_found("Environment group", f"{where}.groupId")
            group_ids.add(target)
        else:
            kind, target = ShareTargetType.ROOT, None
        ids = [r for r in roles if r is not None]
        role_ids.update(ids)
        drafts.append((kind, target, ids, req.expires_at))

    live_envs = set(
        await Environment.filter(id__in=list(env_ids), owner_id=owner_id)
        .exclude(status=EnvironmentStatus.DELETED)
        .values_list("id", flat=True)
    )
    owned_groups = set(
        await EnvironmentGroup.filter(id__in=list(group_ids), owner_id=owner_id).values_list(
            "id", flat=True
        )
    )
    usable = await usable_role_ids(owner_id, role_ids)
    specs: list[ShareSpec] = []
    seen: set[str] = set()
    for i, (kind, target, ids, expires) in enumerate(drafts):
        where = f"{field_name}[{i}]"
        if kind is ShareTargetType.ENVIRONMENT and target not in live_envs:
            raise not_found("Environment", f"{where}.environmentId")
        if kind is ShareTargetType.GROUP and target not in owned_groups:
            raise not_found("Environment group", f"{where}.groupId")
        if any(r not in usable for r in ids):
            raise not_found("Role", f"{where}.roleIds")
        spec = ShareSpec(kind, target, tuple(dict.fromkeys(ids)), expires)
        if spec.target_key in seen:
            raise validation("The same target is shared twice", where)
        seen.add(spec.target_key)
        specs.append(spec)
    return specs


async def _write(member: Member, spec: ShareSpec) -> Share:
    share = await Share.create(
        id=uuid.uuid4(),
        member=member,
        target_type=spec.target_type,
        environment_id=spec.target_id if spec.target_type is ShareTargetType.ENVIRONMENT else None,
        group_id=spec.target_id if spec.target_type is ShareTargetType.GROUP else None,
        expires_at=spec.expires_at,
        target_key=spec.target_key,
    )
    await ShareRole.bulk_create(
        [ShareRole(id=uuid.uuid4(), share_id=share.id, role_id=r) for r in spec.role_ids]
    )
    return share


async def shares_changed(member: Member, actor_id: uuid.UUID | None, action: str) -> None:
    """Announce a change of what a member can see: live push, and emails for new items."""
    if member.status is MemberStatus.ACTIVE:
        await outbox.add(Job.SHARE_NOTIFICATIONS, {"member_id": str(member.id)}, member.owner_id)
    if member.account_id is not None:
        outbox.notify([member.account_id], action, member.owner_id)


async def replace_shares(member: Member, specs: list[ShareSpec], actor_id: uuid.UUID) -> None:
    """Must run inside a unit of work."""
    await Share.filter(member_id=member.id).delete()
    for spec in specs:
        await _write(member, spec)
    await audit.record(
        owner_id=member.owner_id, actor_id=actor_id, action="share.replace",
        target_type="Member", target_id=member.id,
        detail={"shares": [{"target": s.target_key, "roles": [str(r) for r in s.role_ids],
                            "expiresAt": s.expires_at.isoformat() if s.expires_at else None}
                           for s in specs]},
    )  # fmt: skip
    await shares_changed(member, actor_id, "share.replace")


async def copy_shares(source: Member, target: Member) -> None:
    shares = await Share.filter(member_id=source.id)
    links = await ShareRole.filter(share_id__in=[s.id for s in shares]).values(
        "share_id", "role_id"
    )
    for share in shares:
        roles = tuple(link["role_id"] for link in links if link["share_id"] == share.id)
        target_id = share.environment_id or share.group_id
        await _write(target, ShareSpec(share.target_type, target_id, roles, share.expires_at))


def _direct_spec(environment_id: uuid.UUID, role_ids: Sequence[uuid.UUID]) -> ShareSpec | None:
    """Sharing from the environment sets a direct share without an end, or none."""
    if not role_ids:
        return None
    return ShareSpec(ShareTargetType.ENVIRONMENT, environment_id, tuple(role_ids), None)


def with_direct_share(
    shares: list[ShareInfo], environment_id: uuid.UUID, role_ids: Sequence[uuid.UUID]
) -> list[ShareInfo]:
    """The member's shares as `set_direct_share` leaves them, for a preview."""
    target = (ShareTargetType.ENVIRONMENT, environment_id)
    kept = [s for s in shares if (s.target_type, s.target_id) != target]
    spec = _direct_spec(environment_id, role_ids)
    return kept if spec is None else [*kept, spec.info()]


async def set_direct_share(
    member: Member, environment: Environment, role_ids: list[uuid.UUID], actor_id: uuid.UUID
) -> None:
    """Sharing from the environment: empty `role_ids` removes the member's direct share."""
    key = target_key(ShareTargetType.ENVIRONMENT, environment.id)
    await Share.filter(member_id=member.id, target_key=key).delete()
    spec = _direct_spec(environment.id, role_ids)
    if spec is not None:
        await _write(member, spec)
    await audit.record(
        owner_id=member.owner_id, actor_id=actor_id,
        action="share.set" if role_ids else "share.remove",
        target_type="Member", target_id=member.id, environment_id=environment.id,
        detail={"environmentId": str(environment.id), "roles": [str(r) for r in role_ids]},
    )  # fmt: skip
    await shares_changed(member, actor_id, "share.set")
