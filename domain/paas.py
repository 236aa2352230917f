"""The PaaS behind the gateway: one small interface, and the built-in backend.

The gateway decides who may do what; the backend does it. The built-in backend keeps the
environment's state in our own tables (it changes `status` and records an
`EnvironmentOperation` row per action), so a real PaaS API can be plugged in later by
implementing `PaasBackend` and calling `use_backend()` at start-up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from domain import versions
from domain.clock import utcnow
from domain.policies import PolicyCode
from models import Environment, EnvironmentOperation, EnvironmentStatus

# Operation actions that are not policy codes.
CREATE = "env.create"
CLONED_FROM = "env.cloned_from"
# Written by `reportScalingEvent` (the platform), shown by `Environment.scalingHistory`.
SCALING_EVENT = "scaling.event"

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
    """What the gateway asks of the platform. Must run inside the caller's transaction."""

    async def provision(self, environment: Environment, actor_id: uuid.UUID) -> None: ...

    async def perform(
        self, environment: Environment, action: str, actor_id: uuid.UUID, detail: str = ""
    ) -> None: ...

    def ssh_access(self, environment: EnvironmentFacts) -> str: ...

    def ftp_access(self, environment: EnvironmentFacts) -> str: ...

    def resource_usage(self, environment: EnvironmentFacts) -> ResourceUsage: ...


class BuiltInPaas:
    """Environments as rows: status changes and an operation log, no real servers."""

    host = "paas.local"

    async def _record(
        self, environment: Environment, action: str, actor_id: uuid.UUID, detail: str
    ) -> None:
        versions.touch_owner(environment.owner_id)  # status, logs, history
        await EnvironmentOperation.create(
            id=uuid.uuid4(), environment_id=environment.id, actor_id=actor_id, action=action,
            detail=detail, at=utcnow(),
        )  # fmt: skip

    async def provision(self, environment: Environment, actor_id: uuid.UUID) -> None:
        await self._record(environment, CREATE, actor_id, f"created {environment.name}")

    async def perform(
        self, environment: Environment, action: str, actor_id: uuid.UUID, detail: str = ""
    ) -> None:
        after = STATUS_AFTER.get(action)
        if after is not None and environment.status is not after:
            environment.status = after
            fields = ["status", "updated_at"]
            if after is EnvironmentStatus.DELETED:
                # Frees the name for a new environment (see Environment.name_slot).
                environment.name_slot = str(environment.id)
                fields.append("name_slot")
            await environment.save(update_fields=fields)
        await self._record(environment, action, actor_id, detail)

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


async def record_scaling_event(environment: Environment, message: str) -> None:
    """What `reportScalingEvent` leaves for `Environment.scalingHistory` (the platform has
    no account of its own, so the owner stands as the operation's actor)."""
    versions.touch_owner(environment.owner_id)
    await EnvironmentOperation.create(
        id=uuid.uuid4(), environment_id=environment.id, actor_id=environment.owner_id,
        action=SCALING_EVENT, detail=message, at=utcnow(),
    )  # fmt: skip
