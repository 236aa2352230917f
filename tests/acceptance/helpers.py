"""Documents and small helpers for the black-box acceptance tests."""

from __future__ import annotations

import uuid
from typing import Any

from models import OutboxJob
from tests.conftest import PLATFORM_TOKEN
from tests.utils.accounts import User
from tests.utils.accounts import sign_up as _sign_up
from tests.utils.graphql import GraphQLClient, Response
from tests.utils.members import (  # noqa: F401  (re-exported for the tests)
    CREATOR,
    FULL_ACCESS,
    LIMITED_ACCESS,
    VIEWER,
    active_member,
    invitation_token,
    invite,
)

ERR = "errors { code field }"
MEMBER = """
  id email displayName accountRole status invitedAt acceptedAt account { id }
  shares { id expiresAt roles { id name }
    target { __typename ... on Environment { id } ... on EnvironmentGroup { id }
             ... on EnvironmentsRoot { owner { id } } } }
"""
ENV = "id name displayName status owner { id } createdBy { id } groups { id } myPolicies"

CREATE_ENV = f"""
mutation($input: CreateEnvironmentInput!) {{
  createEnvironment(input: $input) {{ environment {{ {ENV} }} {ERR} }}
}}"""
ENV_Q = f"query($id: ID!) {{ environment(id: $id) {{ {ENV} }} }}"
MY_POLICIES = "query($id: ID!) { environment(id: $id) { id myPolicies } }"
CREATE_GROUP = f"""
mutation($name: String!, $parentId: ID) {{
  createEnvironmentGroup(name: $name, parentId: $parentId) {{
    environmentGroup {{ id name parent {{ id }} }} {ERR}
  }}
}}"""
ADD_TO_GROUP = f"""
mutation($e: ID!, $g: ID!) {{
  addEnvironmentToGroup(environmentId: $e, groupId: $g) {{ environment {{ id groups {{ id }} }} {ERR} }}
}}"""
REMOVE_FROM_GROUP = f"""
mutation($e: ID!, $g: ID!) {{
  removeEnvironmentFromGroup(environmentId: $e, groupId: $g) {{ environment {{ id groups {{ id }} }} {ERR} }}
}}"""
UPDATE_MEMBER = f"""
mutation($id: ID!, $input: UpdateMemberInput!) {{
  updateMember(id: $id, input: $input) {{ member {{ {MEMBER} }} {ERR} }}
}}"""
SHARE_ENV = f"""
mutation($e: ID!, $grants: [GrantInput!]!) {{
  shareEnvironment(environmentId: $e, grants: $grants) {{ environment {{ id }} {ERR} }}
}}"""
SET_KIND = f"""
mutation($id: ID!, $kind: AccountKind!, $ends: DateTime) {{
  platformSetAccountKind(accountId: $id, kind: $kind, trialEndsAt: $ends) {{
    account {{ id kind trialEndsAt }} {ERR}
  }}
}}"""
CREATE_ROLE = f"""
mutation($input: RoleInput!) {{
  createRole(input: $input) {{ role {{ id name description policies {{ code }} receiveLoadAlerts builtIn }} {ERR} }}
}}"""
MEMBERS = f"query($status: [MemberStatus!]) {{ members(status: $status) {{ {MEMBER} }} }}"
MEMBERS_DEFAULT = f"{{ members {{ {MEMBER} }} }}"


def member_op(name: str) -> str:
    return f"""
mutation($id: ID!) {{ {name}(id: $id) {{ member {{ {MEMBER} }} {ERR} }} }}"""


SUSPEND = member_op("suspendMember")
ACTIVATE = member_op("activateMember")
REMOVE = member_op("removeMember")
REINVITE = member_op("reinviteMember")
RESEND = member_op("resendInvitation")
ACCEPT = f"""
mutation($token: String, $id: ID) {{
  acceptInvitation(token: $token, id: $id) {{ member {{ id status }} {ERR} }}
}}"""
REJECT = f"""
mutation($token: String, $id: ID) {{
  rejectInvitation(token: $token, id: $id) {{ member {{ id status }} {ERR} }}
}}"""
LEAVE = f"""
mutation($id: ID!) {{ leaveCollaboration(memberId: $id) {{ member {{ id status }} {ERR} }} }}"""


def env_action(name: str) -> str:
    return f"""
mutation($id: ID!) {{ {name}(id: $id) {{ environment {{ id status }} {ERR} }} }}"""


START = env_action("startEnvironment")
STOP = env_action("stopEnvironment")
RESTART = env_action("restartNodes")
DELETE_ENV = env_action("deleteEnvironment")
RUN_ACTION = f"""
mutation($id: ID!, $action: String!) {{
  runEnvironmentAction(id: $id, action: $action) {{ environment {{ id status }} {ERR} }}
}}"""
CLONE = f"""
mutation($id: ID!, $name: String!) {{
  cloneEnvironment(id: $id, name: $name) {{ environment {{ {ENV} }} {ERR} }}
}}"""


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


def uniq(prefix: str = "env") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


VERIFY_EMAIL = """
mutation($token: String!) { verifyEmail(token: $token) { account { emailVerified } errors { code } } }
"""


async def verification_token(account_id: str) -> str:
    """The raw token of the account's newest verification email, as the email carries it."""
    rows = await OutboxJob.filter(job="email_verification_email").order_by("-created_at")
    return str(next(r for r in rows if r.payload.get("account_id") == account_id).payload["token"])


async def sign_up(
    gql: GraphQLClient, name: str | None = None, email: str | None = None, *,
    verified: bool = True,
) -> User:  # fmt: skip
    """signUp, then (unless `verified=False`) `verifyEmail` with the emailed token, as an
    owner who follows the verification link would."""
    created = await _sign_up(gql, name, email, verified=False)
    if verified:
        r = await gql(VERIFY_EMAIL, token=await verification_token(created.id))
        assert r.ok("verifyEmail")["account"] == {"emailVerified": True}
    return created


async def user(gql: GraphQLClient, name: str = "user") -> User:
    return await sign_up(gql, name)


async def env(owner: User, name: str | None = None, **extra: Any) -> dict[str, Any]:
    r = await owner.gql(CREATE_ENV, input={"name": name or uniq(), **extra})
    return r.ok("createEnvironment")["environment"]


async def group(owner: User, name: str | None = None, parent: str | None = None) -> str:
    r = await owner.gql(CREATE_GROUP, name=name or uniq("g"), parentId=parent)
    return str(r.ok("createEnvironmentGroup")["environmentGroup"]["id"])


async def add(owner: User, env_id: str, group_id: str) -> None:
    (await owner.gql(ADD_TO_GROUP, e=env_id, g=group_id)).ok("addEnvironmentToGroup")


async def policies_of(u: User, env_id: str) -> set[str] | None:
    r = await u.gql(MY_POLICIES, id=env_id)
    e = r.data.get("environment")
    return None if e is None else set(e["myPolicies"])


def platform(gql: GraphQLClient) -> GraphQLClient:
    c = gql.as_(None)
    c.headers["X-Platform-Token"] = PLATFORM_TOKEN
    return c


async def set_shares(owner: User, member_id: str, shares: list[dict[str, Any]]) -> dict[str, Any]:
    r = await owner.gql(UPDATE_MEMBER, id=member_id, input={"shares": shares})
    return r.ok("updateMember")["member"]


__all__ = ["Response", "User", "sign_up"]  # re-exported

VIEWER_P = {"env.view", "logs.view", "stats.view"}
LIMITED_P = {
    "env.view", "env.start", "env.stop", "nodes.restart", "deploy.archive", "deploy.vcs",
    "access.ftp", "config.edit", "logs.view", "stats.view", "domains.manage", "ssl.manage",
}  # fmt: skip
FULL_P = LIMITED_P | {
    "access.ssh", "scaling.vertical", "topology.edit", "nodes.password_reset",
    "scaling.horizontal.configure", "scaling.horizontal.notify", "scaling.horizontal.history",
}  # fmt: skip
ALL_P = FULL_P | {"env.delete", "env.clone", "env.create"}
