"""Calls from billing and monitoring, authenticated by `X-Platform-Token`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain import inventory, outbox, paas, trials
from domain.alerts import AlertKind
from domain.errors import DomainError, not_found, validation
from domain.ids import parse_id
from domain.jobs import Job
from domain.unit_of_work import unit_of_work
from models import Environment as EnvironmentModel
from models import EnvironmentStatus
from schema.accounts.types import Account, AccountPayload
from schema.context import Info
from schema.enums import AccountKind
from schema.environments.types import Environment, EnvironmentPayload
from schema.errors import ApiError, returns_payload


@strawberry.type
class PlatformMutation:
    @strawberry.mutation(
        description="Billing: change an account's kind; a past trialEndsAt ends the trial now."
    )
    @returns_payload(AccountPayload)
    async def platform_set_account_kind(
        self, info: Info, account_id: strawberry.ID, kind: AccountKind,
        trial_ends_at: datetime | None = None,
    ) -> AccountPayload:  # fmt: skip
        info.context.require_platform()
        parsed = parse_id(account_id)
        if parsed is None:
            raise not_found("Account", "accountId")
        account = await info.context.commit(
            lambda: trials.set_account_kind(parsed, kind, trial_ends_at)
        )
        return AccountPayload(account=Account.of(account))

    @strawberry.mutation(
        description="Link an owner account to its account on the platform (the ownerUid of "
        "getenvs and createenvironment); with the http backend its inventory syncs at once."
    )
    @returns_payload(AccountPayload)
    async def platform_link_account(
        self, info: Info, account_id: strawberry.ID, platform_uid: str
    ) -> AccountPayload:
        info.context.require_platform()
        parsed = parse_id(account_id)
        if parsed is None:
            raise not_found("Account", "accountId")
        sync = info.context.services.settings.PAAS_BACKEND == "http"
        account = await info.context.commit(
            lambda: inventory.link_account(parsed, platform_uid, sync)
        )
        return AccountPayload(account=Account.of(account))

    @strawberry.mutation(
        description="The platform says a linked owner's environments changed: true, and "
        "the owner's inventory syncs in the background; false for an unknown platformUid."
    )
    async def platform_environments_changed(self, info: Info, platform_uid: str) -> bool:
        try:
            info.context.require_platform()
        except DomainError as refused:  # no payload to carry it: a top-level error
            raise ApiError.of(refused) from None
        owner = await inventory.owner_of(platform_uid)
        if owner is None:
            return False
        if info.context.services.settings.PAAS_BACKEND == "http":
            async with unit_of_work(info.context.services.after_commit):
                await inventory.request_sync(owner.id)
        return True

    @strawberry.mutation(
        description="Monitoring: email a load alert to the owner and the members whose roles "
        "on the environment receive load alerts; the message is quoted verbatim."
    )
    @returns_payload(EnvironmentPayload)
    async def report_load_alert(
        self, info: Info, environment_id: strawberry.ID, message: str
    ) -> EnvironmentPayload:
        return await _report(info, environment_id, message, AlertKind.LOAD)

    @strawberry.mutation(
        description="Monitoring: email a scaling event to the owner and the members holding "
        "scaling.horizontal.notify on the environment; the message is quoted verbatim."
    )
    @returns_payload(EnvironmentPayload)
    async def report_scaling_event(
        self, info: Info, environment_id: strawberry.ID, message: str
    ) -> EnvironmentPayload:
        return await _report(info, environment_id, message, AlertKind.SCALING)


MAX_ALERT_MESSAGE = 10_000


async def _report(
    info: Info, environment_id: strawberry.ID, message: str, kind: AlertKind
) -> EnvironmentPayload:
    """Writes the fan-out job; recipients are resolved when it runs (workers.alerts)."""
    info.context.require_platform()
    parsed = parse_id(environment_id)
    environment = await EnvironmentModel.get_or_none(id=parsed) if parsed else None
    if environment is None or environment.status is EnvironmentStatus.DELETED:
        raise not_found("Environment", "environmentId")
    if not message.strip():
        raise validation("The message is empty", "message")
    if len(message) > MAX_ALERT_MESSAGE:
        raise validation(f"At most {MAX_ALERT_MESSAGE} characters", "message")
    async with unit_of_work(info.context.services.after_commit):
        if kind is AlertKind.SCALING:
            await paas.record_scaling_event(environment, message)
        await outbox.add(
            Job.ALERT_FANOUT,
            {"environment_id": str(environment.id), "message": message, "kind": kind.value},
            owner_id=environment.owner_id,
        )
    return EnvironmentPayload(environment=Environment.of(environment, info.context))
