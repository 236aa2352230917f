"""The policy catalogue and the built-in roles, exactly as CONTRACT.md lists them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum

from tortoise.transactions import in_transaction

from models import Policy, Role, RolePolicy


class PolicyCode(str, Enum):
    ENV_VIEW = "env.view"
    ENV_START = "env.start"
    ENV_STOP = "env.stop"
    ENV_DELETE = "env.delete"
    ENV_CLONE = "env.clone"
    ENV_CREATE = "env.create"
    NODES_RESTART = "nodes.restart"
    DEPLOY_ARCHIVE = "deploy.archive"
    DEPLOY_VCS = "deploy.vcs"
    ACCESS_FTP = "access.ftp"
    ACCESS_SSH = "access.ssh"
    SCALING_VERTICAL = "scaling.vertical"
    TOPOLOGY_EDIT = "topology.edit"
    NODES_PASSWORD_RESET = "nodes.password_reset"
    SCALING_HORIZONTAL_CONFIGURE = "scaling.horizontal.configure"
    SCALING_HORIZONTAL_NOTIFY = "scaling.horizontal.notify"
    SCALING_HORIZONTAL_HISTORY = "scaling.horizontal.history"
    CONFIG_EDIT = "config.edit"
    LOGS_VIEW = "logs.view"
    STATS_VIEW = "stats.view"
    DOMAINS_MANAGE = "domains.manage"
    SSL_MANAGE = "ssl.manage"


P = PolicyCode

DESCRIPTIONS: dict[PolicyCode, str] = {
    P.ENV_VIEW: "See the environment (implied by any share that covers it)",
    P.ENV_START: "Start environment",
    P.ENV_STOP: "Stop environment",
    P.ENV_DELETE: "Delete environment",
    P.ENV_CLONE: "Clone environment",
    P.ENV_CREATE: "Create environments in a group, or at the root",
    P.NODES_RESTART: "Restart environment nodes",
    P.DEPLOY_ARCHIVE: "Deploy code from an archive (own archives only)",
    P.DEPLOY_VCS: "Deploy code from a git/svn repository",
    P.ACCESS_FTP: "FTP/FTPS access",
    P.ACCESS_SSH: "SSH/SFTP access",
    P.SCALING_VERTICAL: "Adjust cloudlet limits (vertical scaling)",
    P.TOPOLOGY_EDIT: "Add or remove servers (nodes)",
    P.NODES_PASSWORD_RESET: "Receive node password reset emails",
    P.SCALING_HORIZONTAL_CONFIGURE: "Configure auto horizontal scaling",
    P.SCALING_HORIZONTAL_NOTIFY: "Receive horizontal scaling notifications",
    P.SCALING_HORIZONTAL_HISTORY: "View horizontal scaling history",
    P.CONFIG_EDIT: "Edit server configuration files",
    P.LOGS_VIEW: "View server logs",
    P.STATS_VIEW: "View server resource usage",
    P.DOMAINS_MANAGE: "Manage domain binding",
    P.SSL_MANAGE: "Manage custom SSL",
}

ALL_CODES: frozenset[str] = frozenset(p.value for p in PolicyCode)

# Not a policy: it belongs to the owner alone and no role can carry it.
COLLABORATORS_MANAGE = "collaborators.manage"


@dataclass(frozen=True)
class BuiltInRole:
    id: uuid.UUID
    name: str
    description: str
    policies: tuple[PolicyCode, ...]
    receive_load_alerts: bool


_LIMITED = (
    P.ENV_VIEW, P.ENV_START, P.ENV_STOP, P.NODES_RESTART, P.DEPLOY_ARCHIVE, P.DEPLOY_VCS,
    P.ACCESS_FTP, P.CONFIG_EDIT, P.LOGS_VIEW, P.STATS_VIEW, P.DOMAINS_MANAGE, P.SSL_MANAGE,
)  # fmt: skip
_FULL = (
    P.ENV_VIEW, P.ENV_START, P.ENV_STOP, P.NODES_RESTART, P.DEPLOY_ARCHIVE, P.DEPLOY_VCS,
    P.ACCESS_FTP, P.ACCESS_SSH, P.SCALING_VERTICAL, P.TOPOLOGY_EDIT, P.NODES_PASSWORD_RESET,
    P.SCALING_HORIZONTAL_CONFIGURE, P.SCALING_HORIZONTAL_NOTIFY, P.SCALING_HORIZONTAL_HISTORY,
    P.CONFIG_EDIT, P.LOGS_VIEW, P.STATS_VIEW, P.DOMAINS_MANAGE, P.SSL_MANAGE,
)  # fmt: skip

# Fixed ids so every database (and every test) agrees on them.
BUILT_IN_ROLES: tuple[BuiltInRole, ...] = (
    BuiltInRole(
        uuid.UUID("d2141803-e1c0-4e94-ae65-e2abdc90c063"), "Full access",
        "Everything on the environment except deleting and cloning it", _FULL, True,
    ),
    BuiltInRole(
        uuid.UUID("0fd00367-672b-495f-8c41-6163aace2ae1"), "Limited access",
        "Day-to-day work without SSH, scaling or topology changes", _LIMITED, False,
    ),
    BuiltInRole(
        uuid.UUID("51bbb782-5152-4b9b-8bfc-7b8d280c922d"), "Viewer",
        "See the environment, its logs and its resource usage",
        (P.ENV_VIEW, P.LOGS_VIEW, P.STATS_VIEW), False,
    ),
    BuiltInRole(
        uuid.UUID("a7cc6748-a83d-4db3-bd78-84b104e4e702"), "Creator",
        "Create environments where this role is shared", (P.ENV_CREATE,), False,
    ),
)  # fmt: skip

BUILT_IN_SLOT = "builtin"


async def sync_catalogue() -> None:
    """Make the database's policies and built-in roles match this module (idempotent)."""
    async with in_transaction():
        existing = {p.code: p for p in await Policy.all()}
        for code, description in DESCRIPTIONS.items():
            policy = existing.get(code.value)
            if policy is None:
                await Policy.create(code=code.value, description=description)
            elif policy.description != description:
                policy.description = description
                await policy.save(update_fields=["description"])
        for spec in BUILT_IN_ROLES:
            role = await Role.get_or_none(id=spec.id)
            if role is None:
                role = await Role.create(
                    id=spec.id, owner=None, owner_slot=BUILT_IN_SLOT, built_in=True,
                    name=spec.name, description=spec.description,
                    receive_load_alerts=spec.receive_load_alerts,
                )  # fmt: skip
            else:
                role.name, role.description = spec.name, spec.description
                role.receive_load_alerts = spec.receive_load_alerts
                await role.save()
            await RolePolicy.filter(role=role).delete()
            await RolePolicy.bulk_create(
                [RolePolicy(id=uuid.uuid4(), role=role, policy_id=p.value) for p in spec.policies]
            )
