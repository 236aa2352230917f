"""The PaaS behind the gateway: one small interface, and the built-in backend.

The gateway decides who may do what; the backend does it. The built-in backend keeps the
environment's state in our own tables (it changes `status` and records an
`EnvironmentOperation` row per action, SUCCEEDED at once). The http backend
(domain/platform_ops.py, `PAAS_BACKEND=http`) records the operation PENDING and leaves the
call to the platform to a worker; `for_settings()` picks one at start-up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from domain import versions
from domain.clock import utcnow
from domain.policies import PolicyCode
from models import Environment, EnvironmentOperation, EnvironmentStatus, OperationStatus

if TYPE_CHECKING:
    from infra.settings import Settings

# Operation actions that are not policy codes.
CREATE = "env.create"
CLONED_FROM = "env.cloned_from"
# Written by `reportScalingEvent` (the platform), shown by `Environment.scalingHistory`.
SCALING_EVENT = "scaling.event"

# The actions the platform carries out (each has its method, domain/platform_ops.py) and
# so what `Environment.lastOperation` shows.
PLATFORM_ACTIONS: frozenset[str] = frozenset({
    CREATE, CLONED_FROM, PolicyCode.ENV_START.value, PolicyCode.ENV_STOP.value,
    PolicyCode.ENV_DELETE.value, PolicyCode.NODES_RESTART.value, PolicyCode.ENV_CLONE.value,
})  # fmt: skip

# What each status-changing action leaves behind; other actions keep the status.
STATUS_AFTER: dict[str, EnvironmentStatus] = {
    PolicyCode.ENV_START.value: EnvironmentStatus.RUNNING,
    PolicyCode.ENV_STOP.value: EnvironmentStatus.STOPPED,
    PolicyCode.ENV_DELETE.value: EnvironmentStatus.DELETED,
}


@dataclass(frozen=True)
class ResourceUsage:
    cloudlets: int
    cpu_percent: float
    memory_mb: int
    disk_mb: int


class EnvironmentFacts(Protocol):
    """What reading an environment's access details needs: a model or a plain record."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> EnvironmentStatus: ...


class PaasBackend(Protocol):
    """What the gateway asks of the platform. Must run inside the caller's transaction.
    Each answers with the operation it recorded (done, or open for a worker)."""

    async def provision(
        self, environment: Environment, actor_id: uuid.UUID
    ) -> EnvironmentOperation: ...

    async def perform(
        self, environment: Environment, action: str, actor_id: uuid.UUID, detail: str = ""
    ) -> EnvironmentOperation: ...

    async def clone(
        self, source: Environment, copy: Environment, actor_id: uuid.UUID
    ) -> EnvironmentOperation: ...

    def ssh_access(self, environment: EnvironmentFacts) -> str: ...

    def ftp_access(self, environment: EnvironmentFacts) -> str: ...

    def resource_usage(self, environment: EnvironmentFacts) -> ResourceUsage: ...


class BuiltInPaas:
    """Environments as rows: status changes and an operation log, no real servers."""

    host = "paas.local"

    async def _record(
        self, environment: Environment, action: str, actor_id: uuid.UUID, detail: str
    ) -> EnvironmentOperation:
        versions.touch_owner(environment.owner_id)  # status, logs, history
        now = utcnow()
        return await EnvironmentOperation.create(
            id=uuid.uuid4(), environment_id=environment.id, actor_id=actor_id, action=action,
            detail=detail, at=now, status=OperationStatus.SUCCEEDED, finished_at=now,
        )  # fmt: skip

    async def provision(
        self, environment: Environment, actor_id: uuid.UUID
    ) -> EnvironmentOperation:
        return await self._record(environment, CREATE, actor_id, f"created {environment.name}")

    async def clone(
        self, source: Environment, copy: Environment, actor_id: uuid.UUID
    ) -> EnvironmentOperation:
        await self.perform(source, PolicyCode.ENV_CLONE.value, actor_id, f"clone {copy.id}")
        return await self.perform(copy, CLONED_FROM, actor_id, f"from {source.id}")

    async def perform(
        self, environment: Environment, action: str, actor_id: uuid.UUID, detail: str = ""
    ) -> EnvironmentOperation:
        after = STATUS_AFTER.get(action)
        if after is not None and environment.status is not after:
            environment.status = after
            fields = ["status", "updated_at"]
            if after is EnvironmentStatus.DELETED:
                # Frees the name for a new environment (see Environment.name_slot).
                environment.name_slot = str(environment.id)
                fields.append("name_slot")
            await environment.save(update_fields=fields)
        return await self._record(environment, action, actor_id, detail)

    def ssh_access(self, environment: EnvironmentFacts) -> str:
        return f"ssh {environment.name}@ssh.{self.host} -p 3022"

    def ftp_access(self, environment: EnvironmentFacts) -> str:
        return f"ftps://{environment.name}@ftp.{self.host}:21"

    def resource_usage(self, environment: EnvironmentFacts) -> ResourceUsage:
        if environment.status is not EnvironmentStatus.RUNNING:
            return ResourceUsage(cloudlets=0, cpu_percent=0.0, memory_mb=0, disk_mb=0)
        # Stable, plausible figures derived from the id (no real servers behind it).
        seed = environment.id.int
        return ResourceUsage(
            cloudlets=1 + seed % 16, cpu_percent=round((seed >> 8) % 1000 / 10, 1),
            memory_mb=128 * (1 + seed % 16), disk_mb=512 + (seed >> 16) % 4096,
        )  # fmt: skip


_backend: PaasBackend = BuiltInPaas()


def backend() -> PaasBackend:
    return _backend


def use_backend(new: PaasBackend) -> None:
    """Plug in another platform (call once at start-up)."""
    global _backend
    _backend = new


def for_settings(settings: Settings) -> PaasBackend:
    """The backend `PAAS_BACKEND` names."""
    if settings.PAAS_BACKEND == "http":
        from domain.platform_ops import PlatformPaas

        return PlatformPaas()
    return BuiltInPaas()


async def record_scaling_event(environment: Environment, message: str) -> None:
    """What `reportScalingEvent` leaves for `Environment.scalingHistory` (the platform has
    no account of its own, so the owner stands as the operation's actor)."""
    versions.touch_owner(environment.owner_id)
    await EnvironmentOperation.create(
        id=uuid.uuid4(), environment_id=environment.id, actor_id=environment.owner_id,
        action=SCALING_EVENT, detail=message, at=utcnow(),
    )  # fmt: skip
