"""Building owners' trees and collaborators through the public API, as a client would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.clock import utcnow
from domain.policies import BUILT_IN_ROLES
from models import Account, Member, Share
from tests.utils import cache
from tests.utils.accounts import User
from tests.utils.members import CREATOR, FULL_ACCESS, LIMITED_ACCESS, VIEWER, active_member

__all__ = ["CREATOR", "FULL_ACCESS", "LIMITED_ACCESS", "VIEWER", "active_member"]

ERRORS = "errors { code message field }"
ENV_FIELDS = "id name displayName status owner { id } createdBy { id } groups { id } myPolicies"

CREATE_ENV = f"""
mutation($input: CreateEnvironmentInput!) {{
  createEnvironment(input: $input) {{ environment {{ {ENV_FIELDS} }} {ERRORS} }}
}}"""
CREATE_GROUP = f"""
mutation($name: String!, $parentId: ID) {{
  createEnvironmentGroup(name: $name, parentId: $parentId) {{
    environmentGroup {{ id name parent {{ id }} }} {ERRORS} }}
}}"""
MOVE_GROUP = f"""
mutation($id: ID!, $parentId: ID) {{
  moveEnvironmentGroup(id: $id, parentId: $parentId) {{
    environmentGroup {{ id parent {{ id }} }} {ERRORS} }}
}}"""
ADD_TO_GROUP = f"""
mutation($e: ID!, $g: ID!) {{
  addEnvironmentToGroup(environmentId: $e, groupId: $g) {{
    environment {{ id groups {{ id }} }} {ERRORS} }}
}}"""
REMOVE_FROM_GROUP = f"""
mutation($e: ID!, $g: ID!) {{
  removeEnvironmentFromGroup(environmentId: $e, groupId: $g) {{
    environment {{ id groups {{ id }} }} {ERRORS} }}
}}"""
SHARE_ENV = f"""
mutation($e: ID!, $grants: [GrantInput!]!) {{
  shareEnvironment(environmentId: $e, grants: $grants) {{ environment {{ id }} {ERRORS} }}
}}"""
ENVIRONMENT = f"query($id: ID!) {{ environment(id: $id) {{ {ENV_FIELDS} }} }}"
MY_POLICIES = "query($id: ID!) { environment(id: $id) { id myPolicies } }"
SUSPEND = f"mutation($id: ID!) {{ suspendMember(id: $id) {{ member {{ status }} {ERRORS} }} }}"

ROLE_POLICIES: dict[str, frozenset[str]] = {
    str(spec.id): frozenset(p.value for p in spec.policies) for spec in BUILT_IN_ROLES
}


async def create_env(user: User, name: str, **fields: Any) -> dict[str, Any]:
    r = await user.gql(CREATE_ENV, input={"name": name, **fields})
    return r.ok("createEnvironment")["environment"]  # type: ignore[no-any-return]


async def create_group(user: User, name: str, parent: str | None = None) -> str:
    r = await user.gql(CREATE_GROUP, name=name, parentId=parent)
    return str(r.ok("createEnvironmentGroup")["environmentGroup"]["id"])


async def add_to_group(user: User, env_id: str, group_id: str) -> None:
    (await user.gql(ADD_TO_GROUP, e=env_id, g=group_id)).ok("addEnvironmentToGroup")


async def my_policies(user: User, env_id: str) -> set[str] | None:
    """The caller's effective policies, or None when the environment is invisible to it."""
    r = await user.gql(MY_POLICIES, id=env_id)
    assert not r.errors, r.errors
    env = r.data["environment"]
    return None if env is None else set(env["myPolicies"])


def share(role: str, *, env: str | None = None, group: str | None = None,
          root: bool = False, expires_at: str | None = None) -> dict[str, Any]:  # fmt: skip
    item: dict[str, Any] = {"roleIds": [role]}
    if env:
        item["environmentId"] = env
    if group:
        item["groupId"] = group
    if root:
        item["root"] = True
    if expires_at:
        item["expiresAt"] = expires_at
    return item


async def expire_shares(member_id: str) -> None:
    """Time passes: every share of the member is now past its expiresAt."""
    await Share.filter(member_id=member_id).update(expires_at=utcnow() - timedelta(minutes=1))
    owner_id = await Member.get(id=member_id).values_list("owner_id", flat=True)
    await cache.clock_moved(owners=(owner_id,))  # type: ignore[arg-type]


async def end_trial(user: User) -> None:
    """The member's trial ends; no worker has run yet."""
    await Account.filter(id=user.id).update(trial_ends_at=utcnow() - timedelta(minutes=1))
    await cache.clock_moved(accounts=(user.id,))
