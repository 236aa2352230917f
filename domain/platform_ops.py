"""Environment actions carried out by the platform (`PAAS_BACKEND=http`, CONTRACT section 6).

The mutation's side (`PlatformPaas`): policies were checked by `domain.environments`; here
the action becomes an `EnvironmentOperation` (PENDING) and an outbox job in the caller's
transaction, and the environment is marked busy, so a second action is refused
(`INVALID_STATE`) until it ends. The mutation answers at once.

The worker's side (`carry_out`): the operation goes RUNNING and its platform method is
called. An outage (no usable answer) is retried with back-off until PAAS_RETRY_SECONDS
after the first try, then the operation FAILS with PLATFORM_UNAVAILABLE; a refusal fails it
at once with PLATFORM_REFUSED and the platform's text; a call the platform answered is never
repeated. A worker that dies mid-call leaves the operation RUNNING and its outbox row's
lease runs out; the next run resumes it, and for `cloneenv`/`createenvironment` asks
`getenvs` first whether the environment is already there, so it is never created twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import outbox, paas, versions
from domain.clock import utcnow
from domain.errors import DomainError, ErrorCode, invalid_state
from domain.jobs import Job
from domain.policies import PolicyCode
from domain.unit_of_work import AfterCommit, unit_of_work
from infra.paas_client import BreakerOpen, PaasClient, PlatformOutage, PlatformRefusal
from models import (
    Account,
    AuditEntry,
    Environment,
    EnvironmentOperation,
    EnvironmentStatus,
    Member,
    MemberStatus,
    OperationStatus,
)

log = logging.getLogger(__name__)

OPEN = (OperationStatus.PENDING, OperationStatus.RUNNING)
# The platform method of each action on an existing environment.
METHODS: dict[str, str] = {
    PolicyCode.ENV_START.value: "startenv",
    PolicyCode.ENV_STOP.value: "stopenv",
    PolicyCode.ENV_DELETE.value: "deleteenv",
    PolicyCode.NODES_RESTART.value: "restartnodes",
}
# Methods that make an environment: before repeating one, `getenvs` says if it is there.
CREATING = frozenset({"cloneenv", "createenvironment"})
BACKOFF_FIRST = 0.5  # seconds before the 2nd try; doubles up to BACKOFF_MAX
BACKOFF_MAX = 8.0


class PlatformPaas(paas.BuiltInPaas):
    """Records what the platform is to do; workers do it. Actions the platform has no
    method for (deploys, access...) are recorded done, as the built-in backend does."""

    async def _open(
        self, environment: Environment, action: str, actor_id: uuid.UUID, detail: str,
        params: dict[str, str],
    ) -> EnvironmentOperation:  # fmt: skip
        if environment.open_operation_id is not None:
            raise invalid_state("Another action is still running on this environment")
        operation = await EnvironmentOperation.create(
            id=uuid.uuid4(), environment_id=environment.id, actor_id=actor_id, action=action,
            detail=detail, at=utcnow(), status=OperationStatus.PENDING, params=params,
        )  # fmt: skip
        environment.open_operation_id = operation.id
        await environment.save(update_fields=["open_operation_id", "updated_at"])
        # No owner on the row: it is no email, so not one of the owner's failedDeliveries.
        await outbox.add(Job.PLATFORM_OPERATION, {"operation_id": str(operation.id)})
        versions.touch_owner(environment.owner_id)
        return operation

    async def _owner_uid(self, environment: Environment) -> str:
        uid = await Account.filter(id=environment.owner_id).values_list("platform_uid", flat=True)
        if not uid or not uid[0]:
            raise invalid_state("The owner's account is not linked to a platform account")
        return str(uid[0])

    async def provision(
        self, environment: Environment, actor_id: uuid.UUID
    ) -> EnvironmentOperation:
        params = {"method": "createenvironment", "ownerUid": await self._owner_uid(environment),
                  "envName": environment.name, "displayName": environment.display_name}  # fmt: skip
        return await self._open(environment, paas.CREATE, actor_id,
                                f"created {environment.name}", params)  # fmt: skip

    async def clone(
        self, source: Environment, copy: Environment, actor_id: uuid.UUID
    ) -> EnvironmentOperation:
        params = {"method": "cloneenv", "ownerUid": await self._owner_uid(source),
                  "srcEnvName": source.name, "dstEnvName": copy.name}  # fmt: skip
        return await self._open(copy, PolicyCode.ENV_CLONE.value, actor_id,
                                f"from {source.id}", params)  # fmt: skip

    async def perform(
        self, environment: Environment, action: str, actor_id: uuid.UUID, detail: str = ""
    ) -> EnvironmentOperation:
        method = METHODS.get(action)
        if method is None:
            return await super().perform(environment, action, actor_id, detail)
        return await self._open(environment, action, actor_id, detail,
                                {"method": method, "envName": environment.name})  # fmt: skip


# -- the worker's side ----------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    code: ErrorCode
    message: str


async def carry_out(
    operation_id: uuid.UUID, client: PaasClient, after_commit: AfterCommit | None,
    retry_seconds: float,
) -> OperationStatus | None:  # fmt: skip
    """Runs one operation to its end; None when there is nothing (left) to do."""
    operation = await EnvironmentOperation.get_or_none(id=operation_id)
    if operation is None or operation.status not in OPEN:
        return None
    resumed = operation.status is OperationStatus.RUNNING
    started = operation.started_at or utcnow()
    if not resumed:
        async with unit_of_work(after_commit):
            await EnvironmentOperation.filter(id=operation.id, status=OperationStatus.PENDING) \
                .update(status=OperationStatus.RUNNING, started_at=started)  # fmt: skip
            await _announce(operation)
    params = dict(operation.params or {})
    method = params.pop("method", "")
    deadline = started + timedelta(seconds=retry_seconds)
    if resumed and method in CREATING and operation.called_at is not None:
        # The run before may have left a call on the wire: let it time out (and the
        # platform act on it) before getenvs is asked whether it went through.
        settle = operation.called_at + timedelta(seconds=client.timeout + 1) - utcnow()
        await asyncio.sleep(max(0.0, settle.total_seconds()))
    failure = await _call(client, operation.id, method, params, deadline, resumed)
    return await finish(operation, failure, after_commit)


async def _call(
    client: PaasClient, operation_id: uuid.UUID, method: str, params: dict[str, str],
    deadline: datetime, resumed: bool,
) -> Failure | None:  # fmt: skip
    """Calls until the platform answers or the time is up; the failure, if any."""
    tries = 0
    while True:
        again = resumed or tries > 0
        try:
            if again and method in CREATING and await _already_there(client, params):
                return None  # an earlier call did it: never make it twice
            remaining = (deadline - utcnow()).total_seconds()
            if method in CREATING:
                await EnvironmentOperation.filter(id=operation_id).update(called_at=utcnow())
            await client.call(method, wait=max(1.0, min(client.timeout, remaining)), **{
                k: v for k, v in params.items() if not (method == "cloneenv" and k == "ownerUid")
            })  # fmt: skip
            return None
        except PlatformRefusal as refusal:
            if again and method == "deleteenv" and refusal.result == 11:
                return None  # gone: an earlier, unanswered call deleted it
            return Failure(ErrorCode.PLATFORM_REFUSED, refusal.error)
        except BreakerOpen as exc:
            if not again:  # a new action while the platform is known to be down: fail fast
                return Failure(ErrorCode.PLATFORM_UNAVAILABLE, str(exc))
            outage: PlatformOutage = exc
        except PlatformOutage as exc:
            outage = exc
        tries += 1
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (tries - 1))
        if utcnow() + timedelta(seconds=delay) >= deadline:
            return Failure(ErrorCode.PLATFORM_UNAVAILABLE,
                           f"The platform did not answer ({outage}); gave up after {tries} tries")  # fmt: skip
        log.info("platform %s: %s; try %d in %.1f s", method, outage, tries + 1, delay)
        await asyncio.sleep(delay)


async def _already_there(client: PaasClient, params: dict[str, str]) -> bool:
    name = params.get("dstEnvName") or params.get("envName") or ""
    return any(e.name == name for e in await client.getenvs(params.get("ownerUid", "")))


async def finish(
    operation: EnvironmentOperation, failure: Failure | None, after_commit: AfterCommit | None
) -> OperationStatus | None:
    """The platform's answer, applied: the operation's end, the environment's status, the
    audit entry's outcome, the owner's and members' views."""
    status = OperationStatus.FAILED if failure else OperationStatus.SUCCEEDED
    async with unit_of_work(after_commit):
        env = await Environment.filter(id=operation.environment_id).select_for_update().first()
        ended = await EnvironmentOperation.filter(id=operation.id, status__in=OPEN).update(
            status=status, finished_at=utcnow(),
            error_code=failure.code.value if failure else None,
            error_message=failure.message if failure else None,
        )  # fmt: skip
        if not ended or env is None:
            return None  # another run ended it
        fields = ["updated_at"]
        if env.open_operation_id == operation.id:
            env.open_operation_id = None
            fields.append("open_operation_id")
        after = _status_after(operation.action, failure)
        if after is not None and after is not env.status:
            env.status = after
            fields.append("status")
            if after is EnvironmentStatus.DELETED:
                env.name_slot = str(env.id)  # frees the name (see Environment.name_slot)
                fields.append("name_slot")
        await env.save(update_fields=fields)
        if operation.audit_id is not None:
            entry = await AuditEntry.get_or_none(id=operation.audit_id)
            if entry is not None:
                entry.detail = {**(entry.detail or {}), "operation": str(operation.id),
                                "result": status.value,
                                **({"error": failure.code.value, "message": failure.message}
                                   if failure else {})}  # fmt: skip
                await entry.save(update_fields=["detail"])
        await _announce(operation)
        if env.status is EnvironmentStatus.DELETED:
            from domain.environments import announce_deleted

            await announce_deleted(env)
    return status


def _status_after(action: str, failure: Failure | None) -> EnvironmentStatus | None:
    if failure is not None:
        # An environment the platform never made is no environment at all.
        creating = action in (paas.CREATE, PolicyCode.ENV_CLONE.value)
        return EnvironmentStatus.DELETED if creating else None
    return paas.STATUS_AFTER.get(action)


async def _announce(operation: EnvironmentOperation) -> None:
    """The owner's views and the members' `sharedWithMe` changed."""
    env = await Environment.get_or_none(id=operation.environment_id).only("id", "owner_id")
    if env is None:
        return
    members = await Member.filter(
        owner_id=env.owner_id, status=MemberStatus.ACTIVE, account_id__not_isnull=True
    ).values_list("account_id", flat=True)
    versions.touch_owner(env.owner_id)
    outbox.notify([env.owner_id, *members], "environment.operation", env.owner_id)


def operation_error(operation: EnvironmentOperation) -> DomainError | None:
    """The failure as the API shows it."""
    if operation.error_code is None:
        return None
    return DomainError(ErrorCode(operation.error_code), operation.error_message or "")
