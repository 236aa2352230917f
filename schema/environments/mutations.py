"""Environment mutations: each runs through domain.environments' guard, which answers
FORBIDDEN or NOT_FOUND per the contract and audits collaborators' attempts (denials are
committed even though the change rolls back)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from domain import environments
from domain.environments import GrantRequest
from domain.ids import parse_id
from domain.policies import PolicyCode
from models import Environment as EnvironmentModel
from schema.context import Info
from schema.environments.inputs import CreateEnvironmentInput, GrantInput
from schema.environments.types import Environment, EnvironmentPayload
from schema.errors import returns_payload


async def changed_environment(
    info: Info, work: Callable[[], Awaitable[EnvironmentModel]]
) -> EnvironmentPayload:
    """Commit a change to one environment; the payload carries its new state."""
    return EnvironmentPayload(
        environment=Environment.of(await info.context.commit(work), info.context)
    )


async def _act(info: Info, id: strawberry.ID, action: str) -> EnvironmentPayload:
    caller = info.context.caller_for_mutation()
    return await changed_environment(info, lambda: environments.act(caller, parse_id(id), action))


@strawberry.type
class EnvironmentMutation:
    @strawberry.mutation(
        description="On the caller's account, or on an owner's (`ownerId`) where the caller "
        "holds env.create; always owned by the owner, createdBy the caller."
    )
    @returns_payload(EnvironmentPayload)
    async def create_environment(
        self, info: Info, input: CreateEnvironmentInput
    ) -> EnvironmentPayload:
        caller = info.context.caller_for_mutation()
        return await changed_environment(info, lambda: environments.create(
            caller, input.name, input.display_name, parse_id(input.owner_id),
            parse_id(input.group_id), owner_given=bool(input.owner_id),
            group_given=input.group_id is not None,
        ))  # fmt: skip

    @strawberry.mutation
    @returns_payload(EnvironmentPayload)
    async def start_environment(self, info: Info, id: strawberry.ID) -> EnvironmentPayload:
        return await _act(info, id, PolicyCode.ENV_START.value)

    @strawberry.mutation
    @returns_payload(EnvironmentPayload)
    async def stop_environment(self, info: Info, id: strawberry.ID) -> EnvironmentPayload:
        return await _act(info, id, PolicyCode.ENV_STOP.value)

    @strawberry.mutation
    @returns_payload(EnvironmentPayload)
    async def restart_nodes(self, info: Info, id: strawberry.ID) -> EnvironmentPayload:
        return await _act(info, id, PolicyCode.NODES_RESTART.value)

    @strawberry.mutation(description="Returns the deleted environment (status DELETED).")
    @returns_payload(EnvironmentPayload)
    async def delete_environment(self, info: Info, id: strawberry.ID) -> EnvironmentPayload:
        return await _act(info, id, PolicyCode.ENV_DELETE.value)

    @strawberry.mutation(description="A RUNNING copy in the same groups; returns the copy.")
    @returns_payload(EnvironmentPayload)
    async def clone_environment(
        self, info: Info, id: strawberry.ID, name: str
    ) -> EnvironmentPayload:
        caller = info.context.caller_for_mutation()
        return await changed_environment(
            info, lambda: environments.clone(caller, parse_id(id), name)
        )

    @strawberry.mutation(description="Any catalogue action on the environment, by policy code.")
    @returns_payload(EnvironmentPayload)
    async def run_environment_action(
        self, info: Info, id: strawberry.ID, action: str
    ) -> EnvironmentPayload:
        return await _act(info, id, action)

    @strawberry.mutation(description="Owner only: set or remove members' direct shares.")
    @returns_payload(EnvironmentPayload)
    async def share_environment(
        self, info: Info, environment_id: strawberry.ID, grants: list[GrantInput]
    ) -> EnvironmentPayload:
        caller = info.context.caller_for_mutation()
        requests = [GrantRequest(g.member_id, list(g.role_ids)) for g in grants]
        return await changed_environment(info, lambda: environments.share(caller, parse_id(environment_id),
                                                           requests))  # fmt: skip
