"""Roles: the built-in, read-only ones every owner has, and an owner's custom ones.

Decisions the contract leaves open, made here once:
- changing or deleting a built-in role is `FORBIDDEN` (everyone can see it, no one may
  change it); another owner's role is `NOT_FOUND`;
- names are unique per owner, built-in names included, compared case-insensitively;
- a role used by any share (members in every status: shares survive removal) is in use.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from domain import outbox, user_text
from domain.errors import DomainError, ErrorCode, conflict, invalid_state, not_found, validation
from domain.policies import ALL_CODES, COLLABORATORS_MANAGE
from models import Account, Member, MemberStatus, Role, RolePolicy, ShareRole

MAX_NAME = 80
MAX_DESCRIPTION = 500


@dataclass(frozen=True)
class RoleDraft:
    name: str
    description: str | None
    policies: Sequence[str]
    receive_load_alerts: bool


@dataclass(frozen=True)
class CleanRole:
    name: str
    description: str
    policies: tuple[str, ...]
    receive_load_alerts: bool


def _clean(draft: RoleDraft) -> CleanRole:
    name = (draft.name or "").strip()
    if not name:
        raise validation("Give the role a name", "name")
    if len(name) > MAX_NAME:
        raise validation(f"At most {MAX_NAME} characters", "name")
    user_text.check_name(name, "name")
    description = (draft.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise validation(f"At most {MAX_DESCRIPTION} characters", "description")
    for code in draft.policies:
        if code == COLLABORATORS_MANAGE:
            raise validation("collaborators.manage belongs to the owner alone", "policies")
        if code not in ALL_CODES:
            raise validation(f"Unknown policy {code!r}", "policies")
    policies = tuple(sorted(set(draft.policies)))
    return CleanRole(name, description, policies, bool(draft.receive_load_alerts))


async def _check_name_free(owner_id: uuid.UUID, name: str, except_id: uuid.UUID | None) -> None:
    names = await Role.filter(owner_slot__in=["builtin", str(owner_id)]).values("id", "name")
    if any(r["name"].casefold() == name.casefold() and r["id"] != except_id for r in names):
        raise conflict("A role with this name already exists", "name")


async def _write_policies(role: Role, policies: tuple[str, ...]) -> None:
    await RolePolicy.filter(role_id=role.id).delete()
    await RolePolicy.bulk_create(
        [RolePolicy(id=uuid.uuid4(), role_id=role.id, policy_id=code) for code in policies]
    )


async def owned_role(owner: Account, role_id: uuid.UUID | None) -> Role:
    role = await Role.get_or_none(id=role_id) if role_id else None
    if role is None or (not role.built_in and role.owner_id != owner.id):
        raise not_found("Role", "id")
    if role.built_in:
        raise DomainError(ErrorCode.FORBIDDEN, "Built-in roles are read-only", "id")
    return role


async def create(owner: Account, draft: RoleDraft) -> Role:
    clean = _clean(draft)
    await _check_name_free(owner.id, clean.name, None)
    try:
        role = await Role.create(
            id=uuid.uuid4(), owner_id=owner.id, owner_slot=str(owner.id), built_in=False,
            name=clean.name, description=clean.description,
            receive_load_alerts=clean.receive_load_alerts,
        )  # fmt: skip
    except IntegrityError:
        raise conflict("A role with this name already exists", "name") from None
    await _write_policies(role, clean.policies)
    return role


async def update(owner: Account, role_id: uuid.UUID | None, draft: RoleDraft) -> Role:
    """Replaces the role's name, description, policies and flag; members using it are told."""
    role = await owned_role(owner, role_id)
    clean = _clean(draft)
    await _check_name_free(owner.id, clean.name, role.id)
    role.name, role.description = clean.name, clean.description
    role.receive_load_alerts = clean.receive_load_alerts
    try:
        await role.save(update_fields=["name", "description", "receive_load_alerts", "updated_at"])
    except IntegrityError:
        raise conflict("A role with this name already exists", "name") from None
    await _write_policies(role, clean.policies)
    share_ids = await ShareRole.filter(role_id=role.id).values_list("share_id", flat=True)
    if share_ids:
        account_ids = await Member.filter(
            shares__id__in=list(share_ids), status=MemberStatus.ACTIVE
        ).values_list("account_id", flat=True)
        outbox.notify(list(account_ids), "role.update", owner.id)
    return role


async def delete(owner: Account, role_id: uuid.UUID | None) -> tuple[Role, list[str]]:
    """The deleted role and the policy codes it had (its last state)."""
    role = await owned_role(owner, role_id)
    if await ShareRole.exists(role_id=role.id):
        raise invalid_state("The role is used by a share; change those shares first")
    codes = sorted(await RolePolicy.filter(role_id=role.id).values_list("policy_id", flat=True))
    await RolePolicy.filter(role_id=role.id).delete()
    await role.delete()
    return role, [str(c) for c in codes]
