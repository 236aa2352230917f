"""Environment, EnvironmentGroup and EnvironmentsRoot as the API shows them.

What a collaborator sees is filtered by the effective-policy resolver (one snapshot per
owner per request): the groups its shares reach and the environments it may view.
Guarded fields carry `@requiresPolicy` through `guarded(...)`, enforced in one place.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Generator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, cast

import strawberry

from domain import access, paas
from domain.access import AccessLevel
from domain.errors import ErrorCode
from domain.policies import PolicyCode
from domain.records import EnvironmentRecord, GroupRecord
from models import Environment as EnvironmentModel
from models import EnvironmentGroup as GroupModel
from models import EnvironmentOperation as OperationModel
from schema.accounts.types import AccountRef
from schema.context import Context, Info
from schema.enums import EnvironmentStatus, OperationStatus
from schema.errors import UserError
from schema.permissions import guarded
from schema.roles.types import Role

if TYPE_CHECKING:
    from schema.members.types import Member

LOG_LINES = 100

EnvironmentRow = EnvironmentModel | EnvironmentRecord
GroupRow = GroupModel | GroupRecord
T = TypeVar("T")


def sees_everything(context: Context, owner_id: uuid.UUID) -> bool:
    """The owner sees its whole tree; so does the platform reading what it changed."""
    account = context.account
    return (account is not None and account.id == owner_id) or (
        account is None and context.is_platform
    )


class Later(Generic[T]):
    """An awaitable that starts its work only when awaited: a plain field can hold one,
    and graphql-core awaits it only if the query asks for that field."""

    __slots__ = ("_start",)

    def __init__(self, start: Callable[[], Awaitable[T]]) -> None:
        self._start = start

    def __await__(self) -> Generator[Any, None, T]:
        return self._start().__await__()


async def visible_groups(context: Context, groups: list[GroupRow]) -> list[GroupRow]:
    """The groups the caller may see: all for the owner, those its shares reach otherwise."""
    if not groups:
        return []
    owner_id = groups[0].owner_id
    if sees_everything(context, owner_id):
        return groups
    if context.account is None:
        return []
    snapshot = await context.access.snapshot(owner_id)
    return [g for g in groups if snapshot.covers_group(g.id)]


async def visible_environments(
    context: Context, envs: Sequence[EnvironmentRow]
) -> list[Environment]:
    """The environments the caller may view, each with the caller's policies on it."""
    if not envs:
        return []
    owner_id = envs[0].owner_id
    if sees_everything(context, owner_id):
        everything = access.sorted_codes(access.OWNER_POLICIES)
        return [Environment.of(e, everything) for e in envs]
    if context.account is None:
        return []
    snapshot = await context.access.snapshot(owner_id)
    view = PolicyCode.ENV_VIEW.value
    return [
        Environment.of(e, snapshot.sorted_policies(e.id))
        for e in envs
        if view in snapshot.policies(e.id)
    ]


@strawberry.type
class ResourceUsage:
    cloudlets: int
    cpu_percent: float
    memory_mb: int
    disk_mb: int


@strawberry.type
class ScalingEvent:
    at: datetime
    message: str


@strawberry.type(description="A member with access to the environment (owner's view).")
class EnvironmentCollaborator:
    member: Annotated[Member, strawberry.lazy("schema.members.types")]
    roles: list[Role]
    inherited: bool = strawberry.field(
        description="True when access comes from a group or the root, not a direct share."
    )
    level: AccessLevel
    policies: list[str]


@strawberry.type(
    name="EnvironmentOperation",
    description="An action the platform was asked to carry out, and how it went.",
)
class EnvironmentOperation:
    id: strawberry.ID
    action: str = strawberry.field(description="The policy code of the action (env.start...).")
    status: OperationStatus
    error: UserError | None = strawberry.field(
        description="Why it FAILED: PLATFORM_REFUSED (with the platform's text) or "
        "PLATFORM_UNAVAILABLE."
    )
    created_at: datetime
    finished_at: datetime | None
    actor_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, m: OperationModel) -> EnvironmentOperation:
        error = None
        if m.error_code is not None:
            error = UserError(code=ErrorCode(m.error_code), message=m.error_message or "")
        return cls(
            id=strawberry.ID(str(m.id)), action=m.action, status=m.status, error=error,
            created_at=m.at, finished_at=m.finished_at, actor_id=m.actor_id,
        )  # fmt: skip

    @strawberry.field(description="Who asked for it.")
    async def requested_by(self, info: Info) -> AccountRef | None:
        if self.actor_id is None:
            return None
        account = await info.context.loaders.account.load(self.actor_id)
        return AccountRef.of(account) if account else None


@strawberry.type(name="Environment")
class Environment:
    id: strawberry.ID
    name: str
    display_name: str
    status: EnvironmentStatus
    created_at: datetime
    environment_id: strawberry.Private[uuid.UUID]
    owner_id: strawberry.Private[uuid.UUID]
    created_by_id: strawberry.Private[uuid.UUID]
    model: strawberry.Private[EnvironmentRow]
    policies: strawberry.Private[list[str] | None]
    # A plain field (no resolver): graphql-core reads it without a call per environment.
    my_policies: list[str] = strawberry.field(
        description="The caller's effective policy codes on this environment."
    )
    busy: bool = strawberry.field(
        default=False,
        description="An operation is still open on the platform, or the platform reports a "
        "transition: status-changing actions are refused (INVALID_STATE) until it ends.",
    )

    @classmethod
    def of(cls, m: EnvironmentRow, known: list[str] | Context) -> Environment:
        """`known`: the caller's sorted policy codes when already computed, or the request
        context to compute them from if the query asks."""
        if isinstance(known, list):
            policies: list[str] | None = known
            mine = known
        else:
            policies, context = None, known
            mine = cast(list[str], Later(lambda: _sorted_policies_on(context, m.id)))
        return cls(
            id=strawberry.ID(str(m.id)), name=m.name, display_name=m.display_name,
            status=m.status, created_at=m.created_at, environment_id=m.id,
            owner_id=m.owner_id, created_by_id=m.created_by_id, model=m, policies=policies,
            my_policies=mine, busy=m.platform_busy or m.open_operation_id is not None,
        )  # fmt: skip

    @strawberry.field(description="The newest platform action on this environment.")
    async def last_operation(self, info: Info) -> EnvironmentOperation | None:
        row = await info.context.loaders.last_operation.load(self.environment_id)
        return EnvironmentOperation.of(row) if row is not None else None

    @strawberry.field
    async def owner(self, info: Info) -> AccountRef:
        return AccountRef.of(await info.context.loaders.account.load(self.owner_id))

    @strawberry.field
    async def created_by(self, info: Info) -> AccountRef | None:
        """One collaborator does not learn another's email from what they created."""
        account = await info.context.loaders.account.load(self.created_by_id)
        if account is None:
            return None
        caller = info.context.account
        shown = sees_everything(info.context, self.owner_id) or (
            caller is not None and caller.id == self.created_by_id
        )
        return AccountRef.of(account, with_email=shown)

    @strawberry.field(description="Groups of the owner's tree that hold this environment.")
    async def groups(self, info: Info) -> list[EnvironmentGroup]:
        ids = await info.context.loaders.group_ids_by_environment.load(self.environment_id)
        groups = [g for g in await info.context.loaders.group.load_many(ids) if g]
        groups = await visible_groups(info.context, sorted(groups, key=lambda g: g.name))
        return [EnvironmentGroup.of(g, info.context) for g in groups]

    @guarded(PolicyCode.ACCESS_SSH, description="SSH/SFTP connection string.")
    def ssh_access(self, info: Info) -> str | None:
        return paas.backend().ssh_access(self.model)

    @guarded(PolicyCode.ACCESS_FTP, description="FTP/FTPS connection string.")
    def ftp_access(self, info: Info) -> str | None:
        return paas.backend().ftp_access(self.model)

    @guarded(PolicyCode.LOGS_VIEW, description=f"The last {LOG_LINES} server log lines.")
    async def logs(self, info: Info) -> list[str] | None:
        operations = await info.context.loaders.operations_by_environment.load(self.environment_id)
        return [
            f"{op.at.isoformat()} {op.action} {op.detail}".rstrip()
            for op in operations[-LOG_LINES:]
        ]

    @guarded(PolicyCode.STATS_VIEW)
    def resource_usage(self, info: Info) -> ResourceUsage | None:
        usage = paas.backend().resource_usage(self.model)
        return ResourceUsage(
            cloudlets=usage.cloudlets, cpu_percent=usage.cpu_percent,
            memory_mb=usage.memory_mb, disk_mb=usage.disk_mb,
        )  # fmt: skip

    @guarded(PolicyCode.SCALING_HORIZONTAL_HISTORY, description="Newest first.")
    async def scaling_history(self, info: Info) -> list[ScalingEvent] | None:
        operations = await info.context.loaders.operations_by_environment.load(self.environment_id)
        return [
            ScalingEvent(at=op.at, message=op.detail)
            for op in reversed(operations)
            if op.action == paas.SCALING_EVENT
        ]

    @strawberry.field(
        description="Owner only (empty for others): every member with access, their roles, "
        "and whether access is inherited from a group or the root."
    )
    async def collaborators(self, info: Info) -> list[EnvironmentCollaborator]:
        from schema.members.types import Member

        context = info.context
        if context.account is None or context.account.id != self.owner_id:
            return []
        snapshots = await context.loaders.member_snapshots_by_owner.load(self.owner_id)
        members = await context.loaders.member.load_many(list(snapshots))
        found = []
        for member in members:
            if member is None:
                continue
            explanation = snapshots[member.id].explain(self.environment_id)
            if not explanation.policies:
                continue
            role_ids = list(dict.fromkeys(g.role.id for g in explanation.grants))
            roles = [r for r in await context.loaders.role.load_many(role_ids) if r]
            found.append(EnvironmentCollaborator(
                member=Member.of(member), roles=[Role.of(r) for r in roles],
                inherited=explanation.level is not AccessLevel.DIRECT, level=explanation.level,
                policies=sorted(explanation.policies),
            ))  # fmt: skip
        return sorted(found, key=lambda c: c.member.email)


@strawberry.type(name="EnvironmentGroup")
class EnvironmentGroup:
    id: strawberry.ID
    name: str
    group_id: strawberry.Private[uuid.UUID]
    parent_id: strawberry.Private[uuid.UUID | None]
    owner_id: strawberry.Private[uuid.UUID]
    # Plain fields: lists when the caller built the visible tree in memory (sharedWithMe),
    # so the tree resolves without a loader round per level; else loaded if asked for.
    children: list[EnvironmentGroup]
    environments: list[Environment] = strawberry.field(
        description="Environments added to this group directly (visible ones)."
    )

    @classmethod
    def of(
        cls,
        m: GroupRow,
        context: Context,
        children: list[EnvironmentGroup] | None = None,
        environments: list[Environment] | None = None,
    ) -> EnvironmentGroup:
        if children is None:
            children = cast(list[EnvironmentGroup], Later(lambda: _children(context, m.id)))
        if environments is None:
            environments = cast(list[Environment], Later(lambda: _environments(context, m.id)))
        return cls(
            id=strawberry.ID(str(m.id)), name=m.name, group_id=m.id, parent_id=m.parent_id,
            owner_id=m.owner_id, children=children, environments=environments,
        )  # fmt: skip

    @strawberry.field
    async def parent(self, info: Info) -> EnvironmentGroup | None:
        if self.parent_id is None:
            return None
        group = await info.context.loaders.group.load(self.parent_id)
        visible = await visible_groups(info.context, [group] if group else [])
        return EnvironmentGroup.of(visible[0], info.context) if visible else None


async def _sorted_policies_on(context: Context, environment_id: uuid.UUID) -> list[str]:
    return access.sorted_codes(await context.access.policies_on(environment_id))


async def _children(context: Context, group_id: uuid.UUID) -> list[EnvironmentGroup]:
    children = await context.loaders.children_by_group.load(group_id)
    return [EnvironmentGroup.of(g, context) for g in await visible_groups(context, children)]


async def _environments(context: Context, group_id: uuid.UUID) -> list[Environment]:
    envs = await context.loaders.environments_by_group.load(group_id)
    return await visible_environments(context, sorted(envs, key=lambda e: e.name))


@strawberry.type(description="The whole Environments category of an owner (the root).")
class EnvironmentsRoot:
    owner_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def owner(self, info: Info) -> AccountRef:
        return AccountRef.of(await info.context.loaders.account.load(self.owner_id))


@strawberry.type
class EnvironmentPayload:
    environment: Environment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EnvironmentGroupPayload:
    environment_group: EnvironmentGroup | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
