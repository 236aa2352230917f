"""Field-level permissions, declared once next to the field and enforced here only.

`guarded("logs.view")` both prints `@requiresPolicy(policy: "logs.view")` in the SDL and
installs the extension that checks the caller's effective policies on the parent
environment. A caller lacking the policy gets `null` there plus a FORBIDDEN error at that
path; the rest of the result stands.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.schema_directive import Location

from domain.errors import ErrorCode
from domain.policies import PolicyCode
from schema.errors import ApiError


@strawberry.schema_directive(name="requiresPolicy", locations=[Location.FIELD_DEFINITION])
class RequiresPolicy:
    policy: str


class PolicyGuard(FieldExtension):
    def __init__(self, policy: PolicyCode) -> None:
        self.policy = policy

    def _refuse(self) -> ApiError:
        return ApiError(ErrorCode.FORBIDDEN, f"Requires the policy {self.policy.value}")

    async def resolve_async(
        self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        policies = source.policies
        if policies is None:
            policies = await info.context.access.policies_on(source.environment_id)
        if self.policy.value not in policies:
            raise self._refuse()
        result = next_(source, info, **kwargs)
        if hasattr(result, "__await__"):
            result = await result
        return result

    def resolve(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        """Synchronous fields stay synchronous when the environment came with the caller's
        policies; otherwise the check awaits the request's snapshot."""
        if source.policies is None:
            return self.resolve_async(next_, source, info, **kwargs)
        if self.policy.value not in source.policies:
            raise self._refuse()
        return next_(source, info, **kwargs)


def guarded(policy: PolicyCode, **kwargs: Any) -> Any:
    return strawberry.field(
        directives=[RequiresPolicy(policy=policy.value)],
        extensions=[PolicyGuard(policy)],
        **kwargs,
    )
