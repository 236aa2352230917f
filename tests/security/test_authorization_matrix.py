"""The authorization matrix: every query, mutation and guarded field, for every kind of caller.

The operations come from the schema itself: one missing from `EXPECTED` fails the test, so
a new operation cannot ship unclassified. A name with a parenthesis, `Query.auditLog(actorEmail)`,
is a variant of an operation: a later argument or field asked for by the same callers. Each cell runs the operation against the
owner's objects (fresh ones where a success would use them up) and compares the outcome
with the table. A refused call writes nothing (every table's row count is unchanged; the
audit log may only gain the DENIED entry the contract asks for), and a NOT_FOUND for the
owner's object reads exactly like the one for a random id.

Runs on SQLite only: what it checks is the API's decisions, which the rest of the suite
runs on both databases.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLObjectType
from tortoise import Tortoise

from models import OutboxJob
from schema.permissions import RequiresPolicy
from schema.root import schema
from tests.conftest import PLATFORM_TOKEN
from tests.utils.accounts import PASSWORD, User, sign_up
from tests.utils.graphql import GraphQLClient, Response
from tests.utils.members import FULL_ACCESS, VIEWER, invitation_token, invite

CALLERS = ("anonymous", "other_owner", "pending", "suspended", "trial_expired", "viewer",
           "full_access", "admin", "owner", "platform")  # fmt: skip
MEMBER_KINDS = ("pending", "suspended", "trial_expired", "viewer", "full_access", "admin")
# Callers that must never see the owner's private objects in any answer.
STRANGERS = ("anonymous", "other_owner", "pending", "suspended", "trial_expired")


@pytest.fixture(scope="module")
def database_url(sqlite_database: str) -> str:
    return sqlite_database


def row(**outcomes: str) -> dict[str, str]:
    """One operation's outcomes; `rest` names the outcome of every caller not listed."""
    rest = outcomes.pop("rest", None)
    full = {c: outcomes.get(c, rest) for c in CALLERS}
    missing = [c for c, o in full.items() if o is None]
    assert not missing, f"no outcome for {missing}"
    return full  # type: ignore[return-value]


U, NF, FB, OK = "UNAUTHENTICATED", "NOT_FOUND", "FORBIDDEN", "ok"
LOGGED_IN_OK = {"anonymous": U, "platform": U, "rest": OK}
OWNER_ONLY = {"anonymous": U, "platform": U, "owner": OK, "rest": NF}
PLATFORM_ONLY = {"platform": OK, "rest": U}
SELF = {"anonymous": U, "platform": U, "owner": NF, "other_owner": NF}
# Environment actions on one of the owner's environments: by the policies of each role.
# The contract: FORBIDDEN when the caller sees the owner's account (an effectively ACTIVE
# member), NOT_FOUND otherwise.
ACT = {"anonymous": U, "platform": U, "other_owner": NF, "pending": NF, "suspended": NF,
       "trial_expired": NF, "viewer": FB, "full_access": OK, "admin": OK, "owner": OK}  # fmt: skip
OWNERS_ACT = {**ACT, "full_access": FB, "admin": FB}  # Full access has no env.delete/clone
# The owner's groups: its ACTIVE members see the account, so FORBIDDEN; others NOT_FOUND.
GROUP_CHANGE = {**OWNER_ONLY, "viewer": FB, "full_access": FB, "admin": FB}
GUARDED_READ = {"anonymous": U, "platform": U, "other_owner": "null", "pending": "null",
                "suspended": "null", "trial_expired": "null", "full_access": OK, "admin": OK,
                "owner": OK}  # fmt: skip

EXPECTED: dict[str, dict[str, str]] = {
    # -- queries
    "Query.me": row(anonymous=U, platform=U, rest=OK),
    "Query.members": row(anonymous=U, platform=U, owner=OK, rest="empty"),
    "Query.invitations": row(anonymous=U, platform=U, pending=OK, rest="empty"),
    "Query.invitationByToken": row(rest=OK),  # the emailed token is the credential
    "Query.failedDeliveries": row(anonymous=U, platform=U, rest="empty"),
    "Query.policies": row(**LOGGED_IN_OK),
    "Query.roles": row(**LOGGED_IN_OK),
    "Query.environments": row(anonymous=U, platform=U, other_owner=OK, owner=OK, rest="empty"),
    "Query.environmentGroups": row(anonymous=U, platform=U, owner=OK, rest="empty"),
    "Query.environment": row(**{**GUARDED_READ, "viewer": OK}),
    "Query.sharedWithMe": row(
        anonymous=U, platform=U, viewer=OK, full_access=OK, admin=OK, rest="empty"
    ),
    "Query.explainAccess": row(**OWNER_ONLY),
    "Query.auditLog": row(anonymous=U, platform=U, owner=OK, rest="empty"),
    # -- variants: arguments and fields added later (account care, the dashboard)
    "Query.me(emailVerified)": row(anonymous=U, platform=U, rest=OK),
    "Query.sharedWithMe(ownerId)": row(
        anonymous=U, platform=U, viewer=OK, full_access=OK, admin=OK, rest="empty"
    ),
    "Query.explainAccess(whenActive)": row(**OWNER_ONLY),  # of a suspended member
    "Query.auditLog(actorEmail,targetName)": row(anonymous=U, platform=U, owner=OK, rest="empty"),
    # -- previews: the mutation's refusals; moving or placing changes nothing for root shares
    "Query.previewMemberUpdate": row(**OWNER_ONLY),
    "Query.previewShareEnvironment": row(**GROUP_CHANGE),
    "Query.previewMoveEnvironmentGroup": row(**{**GROUP_CHANGE, "owner": "empty"}),
    "Query.previewAddEnvironmentToGroup": row(**{**GROUP_CHANGE, "owner": "empty"}),
    "Query.previewRemoveEnvironmentFromGroup": row(**{**GROUP_CHANGE, "owner": "empty"}),
    # -- guarded fields (on an environment the viewer sees but may not open)
    "Environment.sshAccess": row(**{**GUARDED_READ, "viewer": FB}),
    "Environment.ftpAccess": row(**{**GUARDED_READ, "viewer": FB}),
    "Environment.logs": row(**{**GUARDED_READ, "viewer": OK}),
    "Environment.resourceUsage": row(**{**GUARDED_READ, "viewer": OK}),
    "Environment.scalingHistory": row(**{**GUARDED_READ, "viewer": FB}),
    # -- mutations: accounts
    "Mutation.signUp": row(rest=OK),
    "Mutation.logIn": row(rest=OK),
    "Mutation.logOut": row(anonymous=U, platform=U, rest=OK),
    # -- account care: each on the caller's own account, or by the emailed token
    "Mutation.logOutEverywhere": row(anonymous=U, platform=U, rest=OK),
    "Mutation.changePassword": row(anonymous=U, platform=U, rest=OK),
    "Mutation.resendVerification": row(anonymous=U, platform=U, rest="INVALID_STATE"),  # verified
    "Mutation.setNotificationPreference": row(anonymous=U, platform=U, rest=OK),  # one's own
    "Query.me(notificationPreference)": row(anonymous=U, platform=U, rest=OK),
    "Mutation.verifyEmail": row(rest=OK),  # the emailed token is the credential
    "Mutation.requestPasswordReset": row(rest=OK),  # the same answer for any email
    "Mutation.resetPassword": row(rest=OK),  # the emailed token is the credential
    # -- members (owner side): only the owner manages its collaborators
    "Mutation.inviteMember": row(**LOGGED_IN_OK),  # to the caller's own account
    "Mutation.inviteMembers": row(**LOGGED_IN_OK),  # each input as inviteMember
    "Mutation.updateMember": row(**OWNER_ONLY),
    "Mutation.copyMember": row(**OWNER_ONLY),
    "Mutation.suspendMember": row(**OWNER_ONLY),
    "Mutation.activateMember": row(**OWNER_ONLY),
    "Mutation.removeMember": row(**OWNER_ONLY),
    "Mutation.reinviteMember": row(**OWNER_ONLY),
    "Mutation.resendInvitation": row(**OWNER_ONLY),
    # -- members (invitee side), each on the caller's own member record
    "Mutation.acceptInvitation": row(**SELF, pending=OK, rest="INVALID_STATE"),
    "Mutation.rejectInvitation": row(**SELF, pending=OK, rest="INVALID_STATE"),
    "Mutation.leaveCollaboration": row(**SELF, pending="INVALID_STATE", rest=OK),
    "Mutation.signUpWithInvitation": row(anonymous=OK, platform=OK, rest="INVALID_TOKEN"),
    # -- platform
    "Mutation.platformSetAccountKind": row(**PLATFORM_ONLY),
    "Mutation.reportLoadAlert": row(**PLATFORM_ONLY),
    "Mutation.reportScalingEvent": row(**PLATFORM_ONLY),
    "Mutation.platformLinkAccount": row(**PLATFORM_ONLY),
    "Mutation.platformEnvironmentsChanged": row(**PLATFORM_ONLY),
    # -- roles
    "Mutation.createRole": row(**LOGGED_IN_OK),
    "Mutation.updateRole": row(**OWNER_ONLY),
    "Mutation.deleteRole": row(**OWNER_ONLY),
    # -- environments
    "Mutation.createEnvironment": row(**{**ACT, "full_access": FB}),  # ADMIN: env.create
    "Mutation.startEnvironment": row(**ACT),
    "Mutation.stopEnvironment": row(**ACT),
    "Mutation.restartNodes": row(**ACT),
    "Mutation.deleteEnvironment": row(**OWNERS_ACT),
    "Mutation.cloneEnvironment": row(**OWNERS_ACT),
    "Mutation.runEnvironmentAction": row(**ACT),
    "Mutation.shareEnvironment": row(**GROUP_CHANGE),
    # -- groups
    "Mutation.createEnvironmentGroup": row(**LOGGED_IN_OK),
    "Mutation.renameEnvironmentGroup": row(**GROUP_CHANGE),
    "Mutation.moveEnvironmentGroup": row(**GROUP_CHANGE),
    "Mutation.deleteEnvironmentGroup": row(**GROUP_CHANGE),
    "Mutation.addEnvironmentToGroup": row(**GROUP_CHANGE),
    "Mutation.removeEnvironmentFromGroup": row(**GROUP_CHANGE),
}


def schema_operations() -> set[str]:
    """Every query and mutation, and every field guarded by @requiresPolicy."""
    graphql_schema = schema._schema
    names: set[str] = set()
    for root in (graphql_schema.query_type, graphql_schema.mutation_type):
        assert root is not None
        names |= {f"{root.name}.{name}" for name in root.fields}
    for type_ in graphql_schema.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            for name, definition in type_.fields.items():
                strawberry_field = (definition.extensions or {}).get("strawberry-definition")
                directives = getattr(strawberry_field, "directives", ())
                if any(isinstance(d, RequiresPolicy) for d in directives):
                    names.add(f"{type_.name}.{name}")
    return names


def test_every_operation_of_the_schema_is_in_the_table():
    operations = schema_operations()
    assert {"Environment.sshAccess", "Environment.logs"} <= operations
    assert sorted(operations - EXPECTED.keys()) == [], "classify these operations"
    named = {name.split("(")[0] for name in EXPECTED}
    assert sorted(named - operations) == [], "these are gone from the schema"


# -- the world ------------------------------------------------------------------------


@dataclass
class World:
    anonymous: GraphQLClient
    owner: User
    other_owner: User
    members: dict[str, tuple[User, str]]  # kind -> (the member's account, member id)
    env: str
    group: str
    role: str
    pending_token: str
    owner_ids: set[str] = field(default_factory=set)  # ids of the owner's objects
    counter: int = 0

    def client(self, caller: str) -> GraphQLClient:
        if caller == "anonymous":
            return self.anonymous
        if caller == "platform":
            platform = self.anonymous.as_(None)
            platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
            return platform
        if caller in ("owner", "other_owner"):
            return getattr(self, caller).gql  # type: ignore[no-any-return]
        return self.members[caller][0].gql

    def fresh(self, what: str) -> str:
        self.counter += 1
        return f"{what}-{self.counter}"

    def email(self) -> str:
        return f"{self.fresh('matrix')}-{uuid.uuid4().hex[:4]}@collab.example"


SET_KIND = """mutation($id: ID!, $kind: AccountKind!, $ends: DateTime) {
  platformSetAccountKind(accountId: $id, kind: $kind, trialEndsAt: $ends) { errors { code } } }"""
SUSPEND = "mutation($id: ID!) { suspendMember(id: $id) { errors { code } } }"
REMOVE = "mutation($id: ID!) { removeMember(id: $id) { errors { code } } }"
ACCEPT = "mutation($id: ID) { acceptInvitation(id: $id) { errors { code } } }"
CREATE_ENV = """mutation($input: CreateEnvironmentInput!) {
  createEnvironment(input: $input) { environment { id } errors { code } } }"""
CREATE_GROUP = """mutation($name: String!) {
  createEnvironmentGroup(name: $name) { environmentGroup { id } errors { code } } }"""
ADD = """mutation($e: ID!, $g: ID!) {
  addEnvironmentToGroup(environmentId: $e, groupId: $g) { errors { code } } }"""
CREATE_ROLE = (
    """mutation($input: RoleInput!) { createRole(input: $input) { role { id } errors { code } } }"""
)


async def member_of_kind(
    world_owner: User, gql: GraphQLClient, kind: str, name: str
) -> tuple[User, str]:
    """A new account standing with the owner as `kind`, made through the public API."""
    user = await sign_up(gql, name)
    shares = {"viewer": [VIEWER], "full_access": [FULL_ACCESS], "admin": [FULL_ACCESS],
              "suspended": [FULL_ACCESS], "trial_expired": [FULL_ACCESS], "pending": []}[kind]  # fmt: skip
    extra = {"accountRole": "ADMIN"} if kind == "admin" else {}
    member = await invite(world_owner, user.email,
                          shares=[{"root": True, "roleIds": shares}] if shares else [], **extra)  # fmt: skip
    if kind != "pending":
        (await user.gql(ACCEPT, id=member["id"])).ok("acceptInvitation")
    if kind == "suspended":
        (await world_owner.gql(SUSPEND, id=member["id"])).ok("suspendMember")
    if kind == "trial_expired":
        platform = gql.as_(None)
        platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
        ended = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        (await platform(SET_KIND, id=user.id, kind="TRIAL", ends=ended)).ok(
            "platformSetAccountKind"
        )
    return user, str(member["id"])


async def build_world(gql: GraphQLClient) -> World:
    owner = await sign_up(gql, "Owner")
    other = await sign_up(gql, "Other owner")
    await other.gql(CREATE_ENV, input={"name": "others-env"})
    env = (await owner.gql(CREATE_ENV, input={"name": "matrix-env"})).ok("createEnvironment")
    group = (await owner.gql(CREATE_GROUP, name="matrix-group")).ok("createEnvironmentGroup")
    (await owner.gql(ADD, e=env["environment"]["id"], g=group["environmentGroup"]["id"])).ok(
        "addEnvironmentToGroup")  # fmt: skip
    role = (await owner.gql(CREATE_ROLE, input={"name": "Deployers", "policies": ["env.view"]})).ok(
        "createRole")  # fmt: skip
    members = {kind: await member_of_kind(owner, gql, kind, kind) for kind in MEMBER_KINDS}
    world = World(
        anonymous=gql, owner=owner, other_owner=other, members=members,
        env=env["environment"]["id"], group=group["environmentGroup"]["id"],
        role=role["role"]["id"], pending_token=await invitation_token(members["pending"][1]),
    )  # fmt: skip
    world.owner_ids |= {world.env, world.group, world.role, owner.id,
                        *(m for _, m in members.values())}  # fmt: skip
    return world


# -- fresh targets (a success would use up a shared one) --------------------------------


async def fresh_env(w: World, *, in_group: bool = False) -> str:
    r = await w.owner.gql(CREATE_ENV, input={"name": w.fresh("env")})
    env_id = str(r.ok("createEnvironment")["environment"]["id"])
    if in_group:
        (await w.owner.gql(ADD, e=env_id, g=w.group)).ok("addEnvironmentToGroup")
    w.owner_ids.add(env_id)
    return env_id


async def fresh_group(w: World) -> str:
    r = await w.owner.gql(CREATE_GROUP, name=w.fresh("group"))
    group_id = str(r.ok("createEnvironmentGroup")["environmentGroup"]["id"])
    w.owner_ids.add(group_id)
    return group_id


async def fresh_member(w: World, kind: str = "pending") -> str:
    if kind == "pending":
        member_id = str((await invite(w.owner, w.email()))["id"])
    else:
        member_id = (await member_of_kind(w.owner, w.anonymous, kind, w.fresh("m")))[1]
    w.owner_ids.add(member_id)
    return member_id


async def fresh_role(w: World) -> str:
    r = await w.owner.gql(CREATE_ROLE, input={"name": w.fresh("Role"), "policies": []})
    role_id = str(r.ok("createRole")["role"]["id"])
    w.owner_ids.add(role_id)
    return role_id


# -- the operations -------------------------------------------------------------------

Prepare = Callable[[World, str], Awaitable[dict[str, Any]]]
ERR = "errors { code message field }"


Restore = Callable[["World", str, GraphQLClient], Awaitable[None]]


@dataclass(frozen=True)
class Op:
    document: str
    prepare: Prepare
    own_membership: bool = False  # acts on the caller's member record: a fresh caller
    restore: Restore | None = None  # after a success: puts the caller's account back


def const(**variables: Any) -> Prepare:
    async def prepare(w: World, caller: str) -> dict[str, Any]:
        return {k: (getattr(w, v[1:]) if isinstance(v, str) and v.startswith("@") else v)
                for k, v in variables.items()}  # fmt: skip

    return prepare


def on_env(in_group: bool = False, **extra: Any) -> Prepare:
    async def prepare(w: World, caller: str) -> dict[str, Any]:
        return {"id": await fresh_env(w, in_group=in_group), **extra}

    return prepare


def on_member(kind: str = "pending", **extra: Any) -> Prepare:
    async def prepare(w: World, caller: str) -> dict[str, Any]:
        return {"id": await fresh_member(w, kind), **extra}

    return prepare


async def removed_member(w: World, caller: str) -> dict[str, Any]:
    member_id = await fresh_member(w)
    (await w.owner.gql(REMOVE, id=member_id)).ok("removeMember")
    return {"id": member_id}


async def own_member(w: World, caller: str) -> dict[str, Any]:
    if caller in w.members:
        return {"id": w.members[caller][1], "memberId": w.members[caller][1]}
    pending = w.members["pending"][1]
    return {"id": pending, "memberId": pending}


async def invitation_for_new_email(w: World, caller: str) -> dict[str, Any]:
    member = await invite(w.owner, w.email())
    w.owner_ids.add(str(member["id"]))
    return {"token": await invitation_token(str(member["id"])), "password": PASSWORD}


async def fresh_email(w: World, caller: str) -> dict[str, Any]:
    return {"email": w.email(), "password": PASSWORD}


async def fresh_account(w: World, caller: str) -> dict[str, Any]:
    user = await sign_up(w.anonymous, w.fresh("billing"))
    return {"accountId": user.id}


async def account_to_link(w: World, caller: str) -> dict[str, Any]:
    return {**await fresh_account(w, caller), "uid": w.fresh("platform-uid")}


async def new_group_name(w: World, caller: str) -> dict[str, Any]:
    return {"name": w.fresh("group"), "id": w.group}


async def fresh_group_id(w: World, caller: str) -> dict[str, Any]:
    return {"id": await fresh_group(w)}


async def env_to_group(w: World, caller: str) -> dict[str, Any]:
    return {"e": await fresh_env(w), "g": w.group}


async def env_in_group(w: World, caller: str) -> dict[str, Any]:
    return {"e": await fresh_env(w, in_group=True), "g": w.group}


async def new_env_on_owner(w: World, caller: str) -> dict[str, Any]:
    return {"input": {"name": w.fresh("new"), "ownerId": w.owner.id}}


async def share_with_viewer(w: World, caller: str) -> dict[str, Any]:
    return {"e": w.env, "grants": [{"memberId": w.members["viewer"][1], "roleIds": [VIEWER]}]}


async def role_target(w: World, caller: str) -> dict[str, Any]:
    return {"id": await fresh_role(w), "input": {"name": w.fresh("Renamed"), "policies": []}}


async def new_role(w: World, caller: str) -> dict[str, Any]:
    return {"input": {"name": w.fresh("Mine"), "policies": ["env.view"]}}


async def explain(w: World, caller: str) -> dict[str, Any]:
    return {"m": w.members["viewer"][1], "e": w.env}


async def log_in_owner(w: World, caller: str) -> dict[str, Any]:
    return {"email": w.owner.email, "password": PASSWORD}


def account_of(w: World, caller: str) -> User | None:
    if caller in ("owner", "other_owner"):
        return getattr(w, caller)  # type: ignore[no-any-return]
    return w.members[caller][0] if caller in w.members else None


NEW_PASSWORD = "a different horse battery"


async def log_in_again(w: World, caller: str, client: GraphQLClient) -> None:
    """logOutEverywhere ended the world's session of the caller: a new one, in place."""
    user = account_of(w, caller)
    assert user is not None
    r = await w.anonymous("mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { token } }",
                          e=user.email, p=PASSWORD)  # fmt: skip
    user.token = user.gql.token = r.data["logIn"]["token"]


async def password_back(w: World, caller: str, client: GraphQLClient) -> None:
    r = await client(
        f"mutation($c: String!, $n: String!) {{ changePassword(current: $c, new: $n) {{ {ERR} }} }}",
        c=NEW_PASSWORD, n=PASSWORD,
    )  # fmt: skip
    r.ok("changePassword")


async def new_password(w: World, caller: str) -> dict[str, Any]:
    return {"c": PASSWORD, "n": NEW_PASSWORD}


async def emailed_token(job: str, account_id: str) -> str:
    rows = await OutboxJob.filter(job=job).order_by("-created_at")
    return next(str(r.payload["token"]) for r in rows if r.payload["account_id"] == account_id)


async def verification_token(w: World, caller: str) -> dict[str, Any]:
    user = await sign_up(w.anonymous, w.fresh("unverified"), verified=False)
    return {"token": await emailed_token("email_verification_email", user.id)}


async def reset_token(w: World, caller: str) -> dict[str, Any]:
    user = await sign_up(w.anonymous, w.fresh("forgetful"))
    request = "mutation($e: String!) { requestPasswordReset(email: $e) { errors { code } } }"
    (await w.anonymous(request, e=user.email)).ok("requestPasswordReset")
    return {"token": await emailed_token("password_reset_email", user.id), "password": NEW_PASSWORD}


async def someones_email(w: World, caller: str) -> dict[str, Any]:
    return {"email": (await sign_up(w.anonymous, w.fresh("someone"))).email}


async def explain_suspended(w: World, caller: str) -> dict[str, Any]:
    return {"m": w.members["suspended"][1], "e": w.env}


async def owner_id(w: World, caller: str) -> dict[str, Any]:
    return {"o": w.owner.id}


def guarded(field_name: str) -> Op:
    return Op(f"query($id: ID!) {{ environment(id: $id) {{ id {field_name} }} }}", const(id="@env"))


def action(name: str, extra_args: str = "", **extra: Any) -> Op:
    signature = "$id: ID!" + "".join(f", ${k}: String!" for k in extra)
    arguments = "id: $id" + "".join(f", {k}: ${k}" for k in extra)
    return Op(f"mutation({signature}) {{ {name}({arguments}) {{ {ERR} }} }}", on_env(**extra))


def member_op(name: str, prepare: Prepare, args: str = "$id: ID!", call: str = "id: $id") -> Op:
    return Op(f"mutation({args}) {{ {name}({call}) {{ {ERR} }} }}", prepare)


OPS: dict[str, Op] = {
    "Query.me": Op("{ me { id } }", const()),
    "Query.members": Op("{ members { id email } }", const()),
    "Query.invitations": Op("{ invitations { id } }", const()),
    "Query.invitationByToken": Op(
        "query($t: String!) { invitationByToken(token: $t) { id } }", const(t="@pending_token")
    ),
    "Query.failedDeliveries": Op("{ failedDeliveries { __typename } }", const()),
    "Query.policies": Op("{ policies { code } }", const()),
    "Query.roles": Op("{ roles { id name } }", const()),
    "Query.environments": Op("{ environments { id } }", const()),
    "Query.environmentGroups": Op("{ environmentGroups { id } }", const()),
    "Query.environment": Op(
        "query($id: ID!) { environment(id: $id) { id name } }", const(id="@env")
    ),
    "Query.sharedWithMe": Op("{ sharedWithMe { owner { id } environments { id } } }", const()),
    "Query.explainAccess": Op(
        "query($m: ID!, $e: ID!) { explainAccess(memberId: $m, environmentId: $e) { level } }",
        explain,
    ),
    "Query.auditLog": Op("{ auditLog { edges { node { id action } } } }", const()),
    "Query.me(emailVerified)": Op("{ me { id emailVerified } }", const()),
    "Query.sharedWithMe(ownerId)": Op(
        "query($o: ID!) { sharedWithMe(ownerId: $o) { owner { id } environments { id } } }",
        owner_id,
    ),
    "Query.explainAccess(whenActive)": Op(
        """query($m: ID!, $e: ID!) { explainAccess(memberId: $m, environmentId: $e) {
          level levelWhenActive policiesWhenActive grantsWhenActive { policies } } }""",
        explain_suspended,
    ),
    "Query.auditLog(actorEmail,targetName)": Op(
        "{ auditLog { edges { node { id action actorEmail targetName } } } }", const()
    ),
    "Query.previewMemberUpdate": Op(
        "query($id: ID!) { previewMemberUpdate(id: $id, input: { shares: [] }) { lost } }",
        lambda w, c: _viewer_member(w),
    ),
    "Query.previewShareEnvironment": Op(
        "query($e: ID!, $g: [GrantInput!]!) { previewShareEnvironment(environmentId: $e, grants: $g) { gained } }",
        lambda w, c: _full_access_for_viewer(w),
    ),
    "Query.previewMoveEnvironmentGroup": Op(
        "query($id: ID!) { previewMoveEnvironmentGroup(id: $id, parentId: null) { gained } }",
        const(id="@group"),
    ),
    "Query.previewAddEnvironmentToGroup": Op(
        "query($e: ID!, $g: ID!) { previewAddEnvironmentToGroup(environmentId: $e, groupId: $g) { gained } }",
        env_to_group,
    ),
    "Query.previewRemoveEnvironmentFromGroup": Op(
        "query($e: ID!, $g: ID!) { previewRemoveEnvironmentFromGroup(environmentId: $e, groupId: $g) { lost } }",
        const(e="@env", g="@group"),
    ),
    "Environment.sshAccess": guarded("sshAccess"),
    "Environment.ftpAccess": guarded("ftpAccess"),
    "Environment.logs": guarded("logs"),
    "Environment.resourceUsage": guarded("resourceUsage { __typename }"),
    "Environment.scalingHistory": guarded("scalingHistory { __typename }"),
    "Mutation.signUp": member_op(
        "signUp",
        fresh_email,
        "$email: String!, $password: String!",
        "email: $email, password: $password",
    ),
    "Mutation.logIn": member_op(
        "logIn",
        log_in_owner,
        "$email: String!, $password: String!",
        "email: $email, password: $password",
    ),
    "Mutation.logOut": Op(f"mutation {{ logOut {{ {ERR} }} }}", const(), own_membership=True),
    "Mutation.logOutEverywhere": Op(
        f"mutation {{ logOutEverywhere {{ ended {ERR} }} }}", const(), restore=log_in_again
    ),
    "Mutation.changePassword": Op(
        f"mutation($c: String!, $n: String!) {{ changePassword(current: $c, new: $n) {{ {ERR} }} }}",
        new_password,
        restore=password_back,
    ),
    "Mutation.resendVerification": Op(f"mutation {{ resendVerification {{ {ERR} }} }}", const()),
    "Mutation.setNotificationPreference": Op(
        "mutation($p: NotificationPreference!) { setNotificationPreference(preference: $p) "
        f"{{ account {{ id notificationPreference }} {ERR} }} }}",
        const(p="EACH"),
    ),
    "Query.me(notificationPreference)": Op("{ me { id notificationPreference } }", const()),
    "Mutation.verifyEmail": member_op(
        "verifyEmail", verification_token, "$token: String!", "token: $token"
    ),
    "Mutation.requestPasswordReset": member_op(
        "requestPasswordReset", someones_email, "$email: String!", "email: $email"
    ),
    "Mutation.resetPassword": member_op(
        "resetPassword",
        reset_token,
        "$token: String!, $password: String!",
        "token: $token, newPassword: $password",
    ),
    "Mutation.inviteMember": member_op(
        "inviteMember", fresh_email, "$email: String!", "input: { email: $email }"
    ),
    "Mutation.inviteMembers": Op(
        f"mutation($email: String!) {{ inviteMembers(inputs: [{{ email: $email }}]) {{ {ERR} }} }}",
        fresh_email,
    ),
    "Mutation.updateMember": member_op(
        "updateMember", on_member(), "$id: ID!", 'id: $id, input: { displayName: "X" }'
    ),
    "Mutation.copyMember": Op(
        f"mutation($id: ID!, $email: String!) {{ copyMember(id: $id, email: $email) {{ {ERR} }} }}",
        lambda w, c: _copy(w),
    ),
    "Mutation.suspendMember": member_op("suspendMember", on_member("viewer")),
    "Mutation.activateMember": member_op("activateMember", on_member("suspended")),
    "Mutation.removeMember": member_op("removeMember", on_member()),
    "Mutation.reinviteMember": member_op("reinviteMember", removed_member),
    "Mutation.resendInvitation": member_op("resendInvitation", on_member()),
    "Mutation.acceptInvitation": Op(
        f"mutation($id: ID) {{ acceptInvitation(id: $id) {{ {ERR} }} }}",
        own_member,
        own_membership=True,
    ),
    "Mutation.rejectInvitation": Op(
        f"mutation($id: ID) {{ rejectInvitation(id: $id) {{ {ERR} }} }}",
        own_member,
        own_membership=True,
    ),
    "Mutation.leaveCollaboration": Op(
        f"mutation($memberId: ID!) {{ leaveCollaboration(memberId: $memberId) {{ {ERR} }} }}",
        own_member,
        own_membership=True,
    ),
    "Mutation.signUpWithInvitation": member_op(
        "signUpWithInvitation",
        invitation_for_new_email,
        "$token: String!, $password: String!",
        "token: $token, password: $password",
    ),
    "Mutation.platformSetAccountKind": member_op(
        "platformSetAccountKind",
        fresh_account,
        "$accountId: ID!",
        "accountId: $accountId, kind: FULL",
    ),
    "Mutation.reportLoadAlert": member_op(
        "reportLoadAlert", const(id="@env"), "$id: ID!", 'environmentId: $id, message: "hot"'
    ),
    "Mutation.reportScalingEvent": member_op(
        "reportScalingEvent", const(id="@env"), "$id: ID!", 'environmentId: $id, message: "+1 node"'
    ),
    "Mutation.platformLinkAccount": member_op(
        "platformLinkAccount",
        account_to_link,
        "$accountId: ID!, $uid: String!",
        "accountId: $accountId, platformUid: $uid",
    ),
    # A Boolean answer: `true` queues a sync; an unknown platform uid answers `false`.
    "Mutation.platformEnvironmentsChanged": Op(
        "mutation($uid: String!) { platformEnvironmentsChanged(platformUid: $uid) }",
        const(uid="no-such-platform-account"),
    ),
    "Mutation.createRole": member_op("createRole", new_role, "$input: RoleInput!", "input: $input"),
    "Mutation.updateRole": member_op(
        "updateRole", role_target, "$id: ID!, $input: RoleInput!", "id: $id, input: $input"
    ),
    "Mutation.deleteRole": member_op("deleteRole", lambda w, c: _only_id(role_target(w, c))),
    "Mutation.createEnvironment": member_op(
        "createEnvironment", new_env_on_owner, "$input: CreateEnvironmentInput!", "input: $input"
    ),
    "Mutation.startEnvironment": action("startEnvironment"),
    "Mutation.stopEnvironment": action("stopEnvironment"),
    "Mutation.restartNodes": action("restartNodes"),
    "Mutation.deleteEnvironment": action("deleteEnvironment"),
    "Mutation.cloneEnvironment": Op(
        f"mutation($id: ID!, $name: String!) {{ cloneEnvironment(id: $id, name: $name) {{ {ERR} }} }}",
        lambda w, c: _clone(w),
    ),
    "Mutation.runEnvironmentAction": action("runEnvironmentAction", action="nodes.restart"),
    "Mutation.shareEnvironment": member_op(
        "shareEnvironment",
        share_with_viewer,
        "$e: ID!, $grants: [GrantInput!]!",
        "environmentId: $e, grants: $grants",
    ),
    "Mutation.createEnvironmentGroup": member_op(
        "createEnvironmentGroup", new_group_name, "$name: String!", "name: $name"
    ),
    "Mutation.renameEnvironmentGroup": member_op(
        "renameEnvironmentGroup", new_group_name, "$id: ID!, $name: String!", "id: $id, name: $name"
    ),
    "Mutation.moveEnvironmentGroup": member_op(
        "moveEnvironmentGroup", fresh_group_id, "$id: ID!", "id: $id, parentId: null"
    ),
    "Mutation.deleteEnvironmentGroup": member_op("deleteEnvironmentGroup", fresh_group_id),
    "Mutation.addEnvironmentToGroup": member_op(
        "addEnvironmentToGroup", env_to_group, "$e: ID!, $g: ID!", "environmentId: $e, groupId: $g"
    ),
    "Mutation.removeEnvironmentFromGroup": member_op(
        "removeEnvironmentFromGroup",
        env_in_group,
        "$e: ID!, $g: ID!",
        "environmentId: $e, groupId: $g",
    ),
}


async def _viewer_member(w: World) -> dict[str, Any]:
    return {"id": w.members["viewer"][1]}  # losing its root share: a change to preview


async def _full_access_for_viewer(w: World) -> dict[str, Any]:
    return {"e": w.env, "g": [{"memberId": w.members["viewer"][1], "roleIds": [FULL_ACCESS]}]}


async def _copy(w: World) -> dict[str, Any]:
    return {"id": w.members["viewer"][1], "email": w.email()}


async def _clone(w: World) -> dict[str, Any]:
    return {"id": await fresh_env(w), "name": w.fresh("copy")}


async def _only_id(variables: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    return {"id": (await variables)["id"]}


# -- running a cell -------------------------------------------------------------------


def outcome(name: str, r: Response) -> str:
    assert r.status < 500, r.body
    field_name = name.split(".")[1].split("(")[0]
    if r.errors:
        codes = {e.get("extensions", {}).get("code") for e in r.errors}
        assert len(codes) == 1 and None not in codes, r.errors
        return str(codes.pop())
    root = name.split(".")[0]
    value = r.data.get("environment") if root == "Environment" else r.data.get(field_name)
    if root == "Environment":
        return "null" if value is None else OK
    if isinstance(value, list) and value and isinstance(value[0], dict) and "errors" in value[0]:
        value = value[0]  # a batch (inviteMembers): one payload per input, here one input
    if isinstance(value, dict) and "errors" in value:
        return str(value["errors"][0]["code"]) if value["errors"] else OK
    if value is None:
        return "null"
    if value == [] or (isinstance(value, dict) and value.get("edges") == []):
        return "empty"
    return OK


async def row_counts() -> dict[str, int]:
    """Rows in every table, and DENIED audit entries, in one statement."""
    tables = sorted(m._meta.db_table for m in Tortoise.apps["models"].values())
    sql = " UNION ALL ".join(f"SELECT '{t}' AS name, COUNT(*) AS n FROM \"{t}\"" for t in tables)
    sql += " UNION ALL SELECT 'denied' AS name, COUNT(*) AS n FROM audit_entry WHERE outcome = 'DENIED'"
    rows = await Tortoise.get_connection("default").execute_query_dict(sql)
    return {row["name"]: int(row["n"]) for row in rows}


def with_random_ids(variables: Any, owner_ids: set[str]) -> Any:
    if isinstance(variables, dict):
        return {k: with_random_ids(v, owner_ids) for k, v in variables.items()}
    if isinstance(variables, list):
        return [with_random_ids(v, owner_ids) for v in variables]
    if isinstance(variables, str) and variables in owner_ids:
        return str(uuid.uuid4())
    return variables


def answer(r: Response) -> Any:
    """What a caller learns: codes, messages and fields of the errors, and the data."""
    top = [(e["extensions"].get("code"), e["message"]) for e in r.errors]
    payloads = {k: v.get("errors") for k, v in r.data.items() if isinstance(v, dict)}
    return top, payloads, {k: v for k, v in r.data.items() if not isinstance(v, dict)}


async def run_cell(world: World, name: str, caller: str) -> str:
    op = OPS[name]
    w = world
    client = w.client(caller)
    if op.own_membership and caller in w.members:
        # The operation uses up the caller's standing: a new caller of the same kind.
        user, member_id = await member_of_kind(w.owner, w.anonymous, caller, w.fresh(caller))
        w.owner_ids.add(member_id)
        w = World(**{**world.__dict__, "members": {**world.members, caller: (user, member_id)}})
        client = user.gql
    if name == "Mutation.logOut" and caller in ("owner", "other_owner", *MEMBER_KINDS):
        account: User = (
            getattr(w, caller) if caller in ("owner", "other_owner") else w.members[caller][0]
        )
        r = await w.anonymous("mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { token } }",
                              e=account.email, p=PASSWORD)  # fmt: skip
        client = w.anonymous.as_(r.data["logIn"]["token"])
    variables = await op.prepare(w, caller)
    world.counter = max(world.counter, w.counter)
    before = await row_counts()
    r = await client(op.document, **variables)
    got = outcome(name, r)
    if got == OK and op.restore is not None:
        await op.restore(w, caller, client)
    if got not in (OK, "empty", "null") or name.startswith(("Query.", "Environment.")):
        after = await row_counts()
        new_denials = after["denied"] - before["denied"]
        audit = "audit_entry"
        assert {k: v for k, v in after.items() if k not in (audit, "denied")} == {
            k: v for k, v in before.items() if k not in (audit, "denied")
        }, f"{name} as {caller} wrote something"
        assert after[audit] - before[audit] == new_denials, f"{name} as {caller} audited a change"
        assert new_denials == 0 or caller in MEMBER_KINDS
    stranger_reads = caller in STRANGERS and name.startswith("Query.") and name not in (
        "Query.invitationByToken", "Query.invitations"  # the invitee's own invitation
    )  # fmt: skip
    if got != OK or stranger_reads:
        text = str(r.body)
        leaked = {i for i in world.owner_ids if i in text} - set(map(str, variables.values()))
        assert not leaked, f"{name} as {caller} revealed {leaked}"
    if got == NF:
        random = await client(op.document, **with_random_ids(variables, w.owner_ids))
        assert answer(random) == answer(r), f"{name} as {caller}: NOT_FOUND tells objects apart"
    return got


async def test_the_authorization_matrix(app_factory):
    http = await app_factory(
        RATE_LIMIT_INVITATIONS_OWNER="100000/hour", RATE_LIMIT_PASSWORD_RESET_ADDRESS="100000/hour"
    )
    world = await build_world(GraphQLClient(http))
    got = {name: {caller: await run_cell(world, name, caller) for caller in CALLERS}
           for name in EXPECTED}  # fmt: skip
    wrong = {
        f"{name} as {caller}": f"expected {EXPECTED[name][caller]}, got {outcome_}"
        for name, row_ in got.items() for caller, outcome_ in row_.items()
        if outcome_ != EXPECTED[name][caller]
    }  # fmt: skip
    assert wrong == {}, "\n".join(f"{k}: {v}" for k, v in sorted(wrong.items()))
