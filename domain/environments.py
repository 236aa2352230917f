"""Environments: creating, cloning, acting on and sharing them, each behind one guard.

Every action goes through `authorize`, which asks the effective-policy resolver
(domain.access) and answers with the contract's codes: `FORBIDDEN` when the caller can
see the owner's account (owner or effectively ACTIVE member) or the environment,
`NOT_FOUND` otherwise. A collaborator's attempt is audited either way: allowed ones in the
change's own transaction, denied ones by `committing_denials`, outside the rolled-back
transaction, so they are committed before the mutation answers.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from domain import access, audit, outbox, paas, sharing
from domain.accounts import clean_display_name, may_create_on_own_account, trial_expired
from domain.errors import DomainError, ErrorCode, conflict, invalid_state, not_found, validation
from domain.ids import parse_id
from domain.policies import BUILT_IN_ROLES, PolicyCode
from domain.previews import AccessEffect
from domain.unit_of_work import AfterCommit, unit_of_work
from models import (
    Account,
    AuditEntry,
    AuditOutcome,
    Environment,
    EnvironmentGroup,
    EnvironmentOperation,
    EnvironmentStatus,
    GroupEnvironment,
    Member,
    MemberStatus,
    OperationStatus,
    Share,
    ShareTargetType,
)

NAME_PATTERN = re.compile(r"[a-z0-9-]{3,40}")
OPEN_OPERATION = (OperationStatus.PENDING, OperationStatus.RUNNING)
# Every policy code names an action on an existing environment except creating one.
ACTIONS: frozenset[str] = frozenset(p.value for p in PolicyCode) - {PolicyCode.ENV_CREATE.value}
# A collaborator who creates an environment nothing shares with them gets this role on it,
# so they can see what they made ("they will see what they create for you").
CREATOR_ROLE_ID = BUILT_IN_ROLES[0].id  # Full access

T = TypeVar("T")


@dataclass(frozen=True)
class Attempt:
    """A collaborator's try at an owner's resource, as the audit log records it."""

    owner_id: uuid.UUID
    actor_id: uuid.UUID
    action: str
    target_type: str
    target_id: uuid.UUID | None
    environment_id: uuid.UUID | None = None

    async def record(self, outcome: AuditOutcome, **detail: object) -> AuditEntry:
        return await audit.record(
            owner_id=self.owner_id, actor_id=self.actor_id, action=self.action,
            target_type=self.target_type, target_id=self.target_id, outcome=outcome,
            environment_id=self.environment_id, detail=dict(detail) or None,
        )  # fmt: skip


class Denied(DomainError):
    """A refusal that the audit log must keep even though the change rolls back."""

    def __init__(
        self, code: ErrorCode, message: str, field: str | None, attempt: Attempt | None
    ) -> None:
        super().__init__(code, message, field)
        self.attempt = attempt


async def committing_denials(
    after_commit: AfterCommit | None, work: Callable[[], Awaitable[T]]
) -> T:
    """Run `work` in a unit of work; a `Denied` is audited after the rollback, committed."""
    try:
        async with unit_of_work(after_commit):
            return await work()
    except Denied as denied:
        if denied.attempt is not None:
            async with unit_of_work(after_commit):
                await denied.attempt.record(AuditOutcome.DENIED, code=denied.code.value)
        raise


@dataclass(frozen=True)
class Standing:
    """How the caller stands with an owner: its member record, and whether it counts."""

    member: Member | None
    active: bool


async def standing(owner_id: uuid.UUID, caller: Account) -> Standing:
    member = await access.membership_of(owner_id, caller.id)
    active = (
        member is not None and member.status is MemberStatus.ACTIVE and not trial_expired(caller)
    )
    return Standing(member, active)


OWNER_ONLY = "Requires the policy collaborators.manage, which only the account owner has"

# The words a NOT_FOUND uses for each audited target type: the same as for a random id.
_NAMES = {"EnvironmentGroup": "Environment group", "EnvironmentsRoot": "Account"}


def requires(policy: str) -> str:
    """The refusal message, worded like a guarded field's."""
    return f"Requires the policy {policy}"


def refusal(
    visible: bool, what: str, field: str | None, attempt: Attempt | None,
    message: str = "You are not allowed to do this",
) -> Denied:  # fmt: skip
    """FORBIDDEN (saying what was missing) to a caller who may see the object; NOT_FOUND,
    which names nothing, to anyone else."""
    what = _NAMES.get(what, what)
    if visible:
        return Denied(ErrorCode.FORBIDDEN, message, field, attempt)
    return Denied(ErrorCode.NOT_FOUND, f"{what} not found", field, attempt)


async def refuse_foreign(
    caller: Account, owner_id: uuid.UUID, action: str, target_type: str,
    target_id: uuid.UUID | None, field: str | None, environment_id: uuid.UUID | None = None,
) -> Denied:  # fmt: skip
    """Someone else's object, for an owner-only change: FORBIDDEN to its active members
    (audited), NOT_FOUND to everyone else (audited when they have a member record)."""
    where = await standing(owner_id, caller)
    attempt = (
        Attempt(owner_id, caller.id, action, target_type, target_id, environment_id)
        if where.member is not None
        else None
    )
    return refusal(where.active, target_type, field, attempt, OWNER_ONLY)


# -- the guard ----------------------------------------------------------------------


async def authorize(
    caller: Account, environment_id: uuid.UUID | None, action: str, field: str = "id"
) -> tuple[Environment, Attempt | None]:
    """The environment, locked, if the caller may run `action` on it; the attempt to audit
    when the caller is a collaborator."""
    env = None
    if environment_id is not None:
        env = await Environment.filter(id=environment_id).select_for_update().first()
    if env is None:
        raise not_found("Environment", field)
    if env.owner_id == caller.id:
        if env.status is EnvironmentStatus.DELETED:
            raise invalid_state("The environment is deleted")
        return env, None
    member = await access.membership_of(env.owner_id, caller.id)
    if member is None:
        raise not_found("Environment", field)
    attempt = Attempt(env.owner_id, caller.id, action, "Environment", env.id, env.id)
    if env.status is EnvironmentStatus.DELETED:
        raise refusal(False, "Environment", field, attempt)
    snapshot = await access.load_snapshot(env.owner_id, member)
    policies = snapshot.policies(env.id)
    if action in policies:
        return env, attempt
    account_visible = snapshot.member is not None and snapshot._inactive_reason() is None
    visible = account_visible or PolicyCode.ENV_VIEW.value in policies
    raise refusal(visible, "Environment", field, attempt, requires(action))


async def act(caller: Account, environment_id: uuid.UUID | None, action: str) -> Environment:
    """Run one catalogue action (`runEnvironmentAction`, start, stop, restart, delete)."""
    if action not in ACTIONS:
        raise validation(f"Unknown action {action!r}", "action")
    if action == PolicyCode.ENV_CLONE.value:
        env, _ = await authorize(caller, environment_id, action)
        return await clone(caller, environment_id, await _free_clone_name(env))
    env, attempt = await authorize(caller, environment_id, action)
    operation = await paas.backend().perform(env, action, caller.id)
    if attempt is not None:
        await _audit_operation(operation, await attempt.record(AuditOutcome.ALLOWED))
    if action == PolicyCode.ENV_DELETE.value and env.status is EnvironmentStatus.DELETED:
        await announce_deleted(env)  # else when the platform has deleted it
    return env


async def _audit_operation(operation: EnvironmentOperation, entry: AuditEntry) -> None:
    """An operation the platform has yet to carry out names its audit entry, which learns
    the outcome when it ends (domain/platform_ops.py)."""
    if operation.status in OPEN_OPERATION:
        operation.audit_id = entry.id
        await operation.save(update_fields=["audit_id"])


async def announce_deleted(env: Environment) -> None:
    account_ids = await Member.filter(
        owner_id=env.owner_id, status=MemberStatus.ACTIVE, account_id__not_isnull=True
    ).values_list("account_id", flat=True)
    outbox.notify(list(account_ids), "environment.delete", env.owner_id)


# -- creating -----------------------------------------------------------------------


def check_name(name: str, field: str = "name") -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise validation("Use 3 to 40 characters: lower-case letters, digits and '-'", field)
    return name


async def _check_free(owner_id: uuid.UUID, name: str, field: str = "name") -> None:
    if await Environment.exists(owner_id=owner_id, name=name, name_slot=""):
        raise conflict("An environment with this name already exists", field)


async def _free_clone_name(env: Environment) -> str:
    base = env.name[:33]
    taken = set(
        await Environment.filter(owner_id=env.owner_id, name__startswith=base, name_slot="")
        .values_list("name", flat=True)
    )  # fmt: skip
    for i in range(1, 10_000):
        candidate = f"{base}-copy" if i == 1 else f"{base}-copy{i}"
        if candidate not in taken:
            return candidate
    raise conflict("No free name for the clone", "name")


async def _insert(
    owner_id: uuid.UUID, caller: Account, name: str, display_name: str, field: str = "name"
) -> Environment:
    await _check_free(owner_id, name, field)
    try:
        return await Environment.create(
            id=uuid.uuid4(), owner_id=owner_id, created_by_id=caller.id, name=name,
            display_name=display_name, status=EnvironmentStatus.RUNNING, name_slot="",
        )  # fmt: skip
    except IntegrityError:
        raise conflict("An environment with this name already exists", field) from None


async def create(
    caller: Account, name: str, display_name: str | None, owner_id: uuid.UUID | None,
    group_id: uuid.UUID | None, *, owner_given: bool = False, group_given: bool = False,
) -> Environment:  # fmt: skip
    """On the caller's own account, or on an owner's where the caller holds `env.create`.

    `owner_given` / `group_given` say an id was sent but did not parse: such an id names
    nothing, so it is reported like a missing object.
    """
    if owner_given and owner_id is None:
        raise not_found("Account", "ownerId")
    owner_id = owner_id or caller.id
    attempt: Attempt | None = None
    if owner_id == caller.id:
        if not may_create_on_own_account(caller):
            raise DomainError(
                ErrorCode.FORBIDDEN, "This account may not create environments", "ownerId"
            )
        group = await _owned_group_or_none(owner_id, group_id, group_given, None)
    else:
        owner = await Account.get_or_none(id=owner_id)
        where = await standing(owner_id, caller) if owner else Standing(None, False)
        if owner is None or where.member is None:
            raise not_found("Account", "ownerId")
        attempt = Attempt(owner_id, caller.id, PolicyCode.ENV_CREATE.value, "EnvironmentGroup"
                          if group_id else "EnvironmentsRoot", group_id or owner_id)  # fmt: skip
        if not where.active:
            raise refusal(False, "Account", "ownerId", attempt)
        group = await _owned_group_or_none(owner_id, group_id, group_given, attempt)
        snapshot = await access.load_snapshot(owner_id, where.member)
        where_field = "groupId" if group else "ownerId"
        if not snapshot.can_create(group.id if group else None):
            raise refusal(
                True, "Account", where_field, attempt, requires(PolicyCode.ENV_CREATE.value)
            )
        if not may_create_on_own_account(owner):
            raise refusal(True, "Account", where_field, attempt,
                          "The owner's account may not create environments")  # fmt: skip
    name = check_name(name)
    display = clean_display_name(display_name) or name
    env = await _insert(owner_id, caller, name, display)
    if group is not None:
        await GroupEnvironment.create(id=uuid.uuid4(), group_id=group.id, environment_id=env.id)
    operation = await paas.backend().provision(env, caller.id)
    if attempt is not None:
        entry = await Attempt(owner_id, caller.id, PolicyCode.ENV_CREATE.value, "Environment",
                              env.id, env.id).record(AuditOutcome.ALLOWED,
                                                     group=str(group.id) if group else None)  # fmt: skip
        await _audit_operation(operation, entry)
    await _after_creation(env, caller, {group.id} if group else set())
    return env


async def _owned_group_or_none(
    owner_id: uuid.UUID, group_id: uuid.UUID | None, given: bool, attempt: Attempt | None
) -> EnvironmentGroup | None:
    if group_id is None and not given:
        return None
    group = await EnvironmentGroup.get_or_none(id=group_id, owner_id=owner_id) if group_id else None
    if group is None:
        raise Denied(ErrorCode.NOT_FOUND, "Environment group not found", "groupId", attempt)
    return group


async def _after_creation(
    env: Environment, caller: Account, group_ids: set[uuid.UUID],
    creator_roles: tuple[uuid.UUID, ...] = (CREATOR_ROLE_ID,),
) -> None:  # fmt: skip
    """Let members whose shares reach the new environment know; make sure a collaborator
    creator can see what it created (with `creator_roles`)."""
    parents, _ = await access.load_tree(env.owner_id)
    reached = await members_reached(env.owner_id, ancestry(parents, group_ids), root=True)
    for member in reached:
        if member.account_id != caller.id:
            await sharing.shares_changed(member, caller.id, "environment.create")
    if env.owner_id == caller.id:
        return
    creator = await access.membership_of(env.owner_id, caller.id)
    if creator is None:
        return
    snapshot = await access.load_snapshot(env.owner_id, creator)
    snapshot.env_groups[env.id] = set(group_ids)
    if creator_roles and PolicyCode.ENV_VIEW.value not in snapshot.policies(env.id):
        spec = sharing.ShareSpec(ShareTargetType.ENVIRONMENT, env.id, creator_roles, None)
        await sharing._write(creator, spec)
        await audit.record(
            owner_id=env.owner_id, actor_id=caller.id, action="share.set",
            target_type="Member", target_id=creator.id, environment_id=env.id,
            detail={"environmentId": str(env.id), "roles": [str(r) for r in creator_roles],
                    "reason": "creator"},
        )  # fmt: skip
    outbox.notify([caller.id], "environment.create", env.owner_id)


async def clone(caller: Account, environment_id: uuid.UUID | None, name: str) -> Environment:
    source, attempt = await authorize(caller, environment_id, PolicyCode.ENV_CLONE.value)
    await _may_create_copy(caller, source, attempt)
    name = check_name(name)
    copy = await _insert(source.owner_id, caller, name, source.display_name)
    group_ids = set(
        await GroupEnvironment.filter(environment_id=source.id).values_list("group_id", flat=True)
    )
    await GroupEnvironment.bulk_create(
        [GroupEnvironment(id=uuid.uuid4(), group_id=g, environment_id=copy.id) for g in group_ids]
    )
    operation = await paas.backend().clone(source, copy, caller.id)
    if attempt is not None:
        await _audit_operation(
            operation, await attempt.record(AuditOutcome.ALLOWED, clone=str(copy.id))
        )
    await _after_creation(
        copy, caller, {uuid.UUID(str(g)) for g in group_ids}, await _roles_on(source, caller)
    )
    return copy


async def _may_create_copy(caller: Account, source: Environment, attempt: Attempt | None) -> None:
    """A clone is a new environment on the source's account: refused, like
    `createEnvironment`, when that account may not create (an ended trial)."""
    owner = caller if source.owner_id == caller.id else await Account.get(id=source.owner_id)
    if may_create_on_own_account(owner):
        return
    if owner is caller:
        raise DomainError(ErrorCode.FORBIDDEN, "This account may not create environments", "id")
    raise refusal(True, "Environment", "id", attempt)


async def _roles_on(environment: Environment, caller: Account) -> tuple[uuid.UUID, ...]:
    """The roles counted for the caller on an environment: a clone's creator gets no more
    on the copy than it had on the original."""
    member = await access.membership_of(environment.owner_id, caller.id)
    if member is None:
        return ()
    grants = (await access.load_snapshot(environment.owner_id, member)).explain(environment.id)
    return tuple(dict.fromkeys(g.role.id for g in grants.grants))


# -- who a change reaches -----------------------------------------------------------


def ancestry(
    parents: dict[uuid.UUID, uuid.UUID | None], group_ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    """These groups and all their ancestors."""
    result: set[uuid.UUID] = set()
    for group_id in group_ids:
        current: uuid.UUID | None = group_id
        while current is not None and current not in result:
            result.add(current)
            current = parents.get(current)
    return result


async def members_reached(
    owner_id: uuid.UUID, group_ids: set[uuid.UUID], root: bool = False
) -> list[Member]:
    """ACTIVE members holding a share on one of these groups (or on the root)."""
    condition = Q(group_id__in=list(group_ids)) if group_ids else Q(id__in=[])
    if root:
        condition |= Q(target_type=ShareTargetType.ROOT)
    member_ids = set(
        await Share.filter(condition, member__owner_id=owner_id).values_list("member_id", flat=True)
    )
    if not member_ids:
        return []
    return await Member.filter(id__in=list(member_ids), status=MemberStatus.ACTIVE).order_by("id")


# -- sharing from the environment ----------------------------------------------------


@dataclass(frozen=True)
class GrantRequest:
    member_id: str
    role_ids: Sequence[str]


@dataclass
class SharePlan:
    """`shareEnvironment`, validated and not yet written: each member's new direct roles
    on the environment (none: the direct share goes)."""

    caller: Account
    environment: Environment
    grants: list[tuple[Member, list[uuid.UUID]]]

    @property
    def effect(self) -> AccessEffect:
        env_id = self.environment.id
        edits = {member.id: functools.partial(sharing.with_direct_share, environment_id=env_id,
                                              role_ids=ids)
                 for member, ids in self.grants}  # fmt: skip
        return AccessEffect(self.caller.id, members=[m for m, _ in self.grants], shares=edits,
                            environments=lambda _: [env_id])  # fmt: skip

    async def apply(self) -> Environment:
        for member, ids in self.grants:
            await sharing.set_direct_share(member, self.environment, ids, self.caller.id)
        return self.environment


async def plan_share(
    caller: Account, environment_id: uuid.UUID | None, grants: Sequence[GrantRequest]
) -> SharePlan:
    """Owner only; an empty role list removes that member's direct share. Every check
    `shareEnvironment` makes, and nothing written."""
    env = await Environment.get_or_none(id=environment_id) if environment_id else None
    if env is None:
        raise not_found("Environment", "environmentId")
    if env.owner_id != caller.id:
        raise await refuse_foreign(caller, env.owner_id, "share.set", "Environment", env.id,
                                   "environmentId", env.id)  # fmt: skip
    if env.status is EnvironmentStatus.DELETED:
        raise invalid_state("The environment is deleted")
    if len(grants) > sharing.MAX_SHARES:
        raise validation(f"At most {sharing.MAX_SHARES} grants", "grants")
    parsed: list[tuple[uuid.UUID, list[uuid.UUID]]] = []
    seen: set[uuid.UUID] = set()
    wanted_roles: set[uuid.UUID] = set()
    for i, grant in enumerate(grants):
        member_id = parse_id(grant.member_id)
        if member_id is None:
            raise not_found("Member", f"grants[{i}].memberId")
        if member_id in seen:
            raise validation("The same member is given twice", f"grants[{i}].memberId")
        seen.add(member_id)
        role_ids = [parse_id(r) for r in grant.role_ids]
        if any(r is None for r in role_ids):
            raise not_found("Role", f"grants[{i}].roleIds")
        ids = list(dict.fromkeys(r for r in role_ids if r is not None))
        wanted_roles.update(ids)
        parsed.append((member_id, ids))
    members = {m.id: m for m in await Member.filter(id__in=list(seen), owner_id=caller.id)}
    usable = await sharing.usable_role_ids(caller.id, wanted_roles)
    for i, (member_id, ids) in enumerate(parsed):
        if member_id not in members:
            raise not_found("Member", f"grants[{i}].memberId")
        if any(r not in usable for r in ids):
            raise not_found("Role", f"grants[{i}].roleIds")
    return SharePlan(caller, env, [(members[member_id], ids) for member_id, ids in parsed])


async def share(
    caller: Account, environment_id: uuid.UUID | None, grants: Sequence[GrantRequest]
) -> Environment:
    """`shareEnvironment`: the plan, applied."""
    return await (await plan_share(caller, environment_id, grants)).apply()
