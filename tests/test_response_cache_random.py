"""Never stale: random changes and reads through two gateway processes.

Each step makes a random change through one gateway (shares, roles, members and their
status, groups and placements, environments and their status, the trial), then reads every
caller's dashboard, environments and members through one gateway, cache allowed, and
compares the answer with a fresh one computed by the other gateway (`Cache-Control:
no-cache`). Any difference is a change that did not bump the counters it touched.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.clock import utcnow
from tests.conftest import PLATFORM_TOKEN
from tests.utils import processes
from tests.utils.accounts import PASSWORD
from tests.utils.members import CREATOR, FULL_ACCESS, LIMITED_ACCESS, VIEWER

pytestmark = pytest.mark.slow

ROLES = [FULL_ACCESS, LIMITED_ACCESS, VIEWER, CREATOR]
READS = {
    "dashboard": """{ sharedWithMe { owner { id } member { id status accountRole }
      canCreateEnvironments environments { id name status myPolicies }
      groups { id name environments { id myPolicies } children { id name
        environments { id } children { id } } } } }""",
    "environments": "{ environments { id name status myPolicies } }",
    "members": """{ members { id status accountRole shares { id expiresAt roles { id }
      target { __typename ... on Environment { id } ... on EnvironmentGroup { id } } } } }""",
    "invitations": "{ invitations { id status } }",
}


@dataclass
class World:
    gateways: list[str]
    client: httpx.AsyncClient
    rng: random.Random
    owner: str = ""
    owner_id: str = ""
    people: list[tuple[str, str, str]] = field(default_factory=list)  # (account id, email, token)
    members: list[str] = field(default_factory=list)
    envs: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)  # X-Cache: hit / miss / none
    deadlines: list[datetime] = field(default_factory=list)  # shares' and trials' ends

    async def call(self, query: str, token: str | None = None, gateway: int | None = None,
                   fresh: bool = False, platform: bool = False, **variables: Any) -> Any:  # fmt: skip
        url = self.gateways[self.rng.randrange(2) if gateway is None else gateway]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if fresh:
            headers["Cache-Control"] = "no-cache"
        if platform:
            headers["X-Platform-Token"] = PLATFORM_TOKEN
        r = await self.client.post(f"{url}/graphql", headers=headers,
                                   json={"query": query, "variables": variables})  # fmt: skip
        body = r.json()
        assert "INTERNAL_SERVER_ERROR" not in str(body), body
        outcome = r.headers.get("x-cache", "none")
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        return body


@pytest.fixture(scope="module")
def gateways(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    with processes.gateways(redis_url, tmp_path_factory.mktemp("cache"),
                            PLATFORM_TOKEN=PLATFORM_TOKEN, RESPONSE_CACHE_ENABLED="true") as running:  # fmt: skip
        yield running.urls


SIGN_UP = """mutation($email: String!, $password: String!) { signUp(email: $email,
  password: $password) { token account { id } errors { code } } }"""


async def sign_up(world: World, name: str) -> tuple[str, str, str]:
    email = f"{name}-{uuid.uuid4().hex[:6]}@collab.example"
    body = await world.call(SIGN_UP, email=email, password=PASSWORD)
    data = body["data"]["signUp"]
    return data["account"]["id"], email, data["token"]


def pick(rng: random.Random, items: list[str]) -> str | None:
    return rng.choice(items) if items else None


def share_inputs(world: World) -> list[dict[str, Any]]:
    rng, shares, used = world.rng, [], set()
    for _ in range(rng.randrange(3)):
        kind = rng.choice(["env", "group", "root"])
        target = pick(rng, world.envs if kind == "env" else world.groups) if kind != "root" else ""
        if target is None or (kind, target) in used:
            continue
        used.add((kind, target))
        share: dict[str, Any] = {"roleIds": rng.sample(ROLES, rng.randint(1, 2))}
        share |= {"env": {"environmentId": target}, "group": {"groupId": target},
                  "root": {"root": True}}[kind]  # fmt: skip
        if rng.random() < 0.3:
            ends = utcnow() + timedelta(seconds=rng.uniform(0.5, 3))
            world.deadlines.append(ends)
            share["expiresAt"] = ends.isoformat()
        shares.append(share)
    return shares


CHANGES = ["create_env", "env_action", "group", "place", "move", "share", "update_member",
           "status", "trial", "invite", "member_action"]  # fmt: skip


async def change(world: World, what: str) -> str:
    """One random change through a random gateway, as the owner, a member or the platform."""
    rng, owner = world.rng, world.owner
    env, group, member = pick(rng, world.envs), pick(rng, world.groups), pick(rng, world.members)
    if what == "create_env" or (env is None and what in ("env_action", "place", "share")):
        body = await world.call("""mutation($n: String!, $g: ID) { createEnvironment(input:
            { name: $n, groupId: $g }) { environment { id } errors { code } } }""",
                                owner, n=f"env-{uuid.uuid4().hex[:6]}", g=group)  # fmt: skip
        if found := body["data"]["createEnvironment"]["environment"]:
            world.envs.append(found["id"])
    elif what == "env_action":
        action = rng.choice(["stopEnvironment"] * 3 + ["startEnvironment"] * 2 + ["restartNodes"])
        await world.call(f"mutation($id: ID!) {{ {action}(id: $id) {{ errors {{ code }} }} }}",
                         owner, id=env)  # fmt: skip
    elif what == "group" or group is None:
        body = await world.call("""mutation($n: String!, $p: ID) { createEnvironmentGroup(
            name: $n, parentId: $p) { environmentGroup { id } errors { code } } }""",
                                owner, n=f"g-{uuid.uuid4().hex[:5]}", p=group)  # fmt: skip
        if found := body["data"]["createEnvironmentGroup"]["environmentGroup"]:
            world.groups.append(found["id"])
    elif what == "place":
        verb = rng.choice(["addEnvironmentToGroup", "removeEnvironmentFromGroup"])
        await world.call(f"""mutation($e: ID!, $g: ID!) {{ {verb}(environmentId: $e,
            groupId: $g) {{ errors {{ code }} }} }}""", owner, e=env, g=group)  # fmt: skip
    elif what == "move":
        await world.call("""mutation($id: ID!, $p: ID) { moveEnvironmentGroup(id: $id,
            parentId: $p) { errors { code } } }""", owner, id=group,
                         p=rng.choice([None, pick(rng, world.groups)]))  # fmt: skip
    elif what == "share" and member is not None:
        roles = rng.sample(ROLES, rng.randint(0, 2))
        await world.call("""mutation($e: ID!, $m: ID!, $r: [ID!]!) { shareEnvironment(
            environmentId: $e, grants: [{ memberId: $m, roleIds: $r }]) { errors { code } } }""",
                         owner, e=env, m=member, r=roles)  # fmt: skip
    elif what == "update_member" and member is not None:
        await world.call("""mutation($id: ID!, $s: [ShareInput!], $r: AccountRole) {
            updateMember(id: $id, input: { shares: $s, accountRole: $r }) { errors { code } } }""",
                         owner, id=member, s=share_inputs(world),
                         r=rng.choice(["VIEWER", "ADMIN"]))  # fmt: skip
    elif what == "status" and member is not None:
        verb = rng.choice(["suspendMember", "activateMember"])
        await world.call(f"mutation($id: ID!) {{ {verb}(id: $id) {{ errors {{ code }} }} }}",
                         owner, id=member)  # fmt: skip
    elif what == "trial":
        account_id = rng.choice(world.people)[0]
        ends = utcnow() + timedelta(seconds=rng.choice([-60, 1.5, 3600]))
        world.deadlines.append(ends)
        await world.call("""mutation($a: ID!, $k: AccountKind!, $t: DateTime) {
            platformSetAccountKind(accountId: $a, kind: $k, trialEndsAt: $t) { errors { code } } }""",
                         platform=True, a=account_id, k=rng.choice(["TRIAL", "FULL"]),
                         t=ends.isoformat())  # fmt: skip
    elif what == "invite":
        _, email, _ = rng.choice(world.people)
        await world.call("""mutation($e: String!, $s: [ShareInput!]) { inviteMember(input:
            { email: $e, shares: $s }) { errors { code } } }""",
                         owner, e=email, s=share_inputs(world))  # fmt: skip
    else:  # a member acts: accepts pending invitations, or creates in the owner's account
        _, _, token = rng.choice(world.people)
        pending = (await world.call(READS["invitations"], token, fresh=True))["data"]
        for invitation in (pending or {}).get("invitations") or []:
            await world.call("""mutation($id: ID) { acceptInvitation(id: $id) {
                errors { code } } }""", token, id=invitation["id"])  # fmt: skip
        if rng.random() < 0.5:
            await world.call("""mutation($n: String!, $o: ID) { createEnvironment(input:
                { name: $n, ownerId: $o }) { errors { code } } }""", token,
                             n=f"m-{uuid.uuid4().hex[:6]}", o=world.owner_id)  # fmt: skip
    await refresh_members(world)
    return what


async def refresh_members(world: World) -> None:
    body = await world.call("{ members { id } }", world.owner, fresh=True)
    world.members = [m["id"] for m in body["data"]["members"]]


async def check_reads(world: World, step: int, what: str) -> None:
    callers = [world.owner] + [token for _, _, token in world.people]
    for token in callers:
        for name, query in READS.items():
            gateway = world.rng.randrange(2)
            for _attempt in range(2):
                began = utcnow() - timedelta(seconds=0.2)
                served = await world.call(query, token, gateway=gateway)
                fresh = await world.call(query, token, gateway=1 - gateway, fresh=True)
                if served == fresh:
                    break
                # Only a share or trial ending between the two reads excuses a difference
                # (the retry then reads after it); anything else is a stale answer.
                ended = utcnow() + timedelta(seconds=0.2)
                excused = any(began <= moment <= ended for moment in world.deadlines)
                assert excused, f"step {step} after {what}: {name} was stale"
            assert served == fresh, f"step {step} after {what}: {name} was stale"


@pytest.mark.parametrize("seed", [1])
async def test_every_cached_read_equals_the_fresh_answer(gateways: list[str], seed: int) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        world = World(gateways, client, random.Random(seed))
        world.owner_id, _, world.owner = await sign_up(world, "owner")
        world.people = [await sign_up(world, f"person{i}") for i in range(3)]
        for what in ("create_env", "group", "invite", "member_action"):
            await change(world, what)
        plan = [w for _ in range(4) for w in world.rng.sample(CHANGES, len(CHANGES))]
        for step, kind in enumerate(plan):  # every kind of change, four times, in random order
            what = await change(world, kind)
            await check_reads(world, step, what)  # fresh reads keep entries the next step hits
        assert world.outcomes.get("hit", 0) > 100, world.outcomes  # the cache was exercised


LOG_IN = """mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token errors { code } } }"""
ENDING_SESSIONS = {
    "logOut": "mutation { logOut { ok errors { code } } }",
    "logOutEverywhere": "mutation { logOutEverywhere { ended errors { code } } }",
    "changePassword": """mutation($current: String!, $new: String!) {
      changePassword(current: $current, new: $new) { errors { code } } }""",
}


async def test_an_ended_session_is_refused_at_once_by_every_gateway(gateways: list[str]) -> None:
    """Both gateways remember the sessions (a hit reads neither the database nor the other
    gateway); one gateway ends them; the next request anywhere is refused, never a hit."""
    async with httpx.AsyncClient(timeout=30) as client:
        world = World(gateways, client, random.Random(2))
        _, email, first = await sign_up(world, "sessions")
        await world.call(READS["environments"], first)

        async def log_in(password: str = PASSWORD) -> str:
            body = await world.call(LOG_IN, email=email, password=password)
            return str(body["data"]["logIn"]["token"])

        async def read(token: str, gateway: int) -> tuple[Any, str]:
            r = await client.post(f"{gateways[gateway]}/graphql",
                                  headers={"Authorization": f"Bearer {token}"},
                                  json={"query": READS["environments"]})  # fmt: skip
            return r.json(), r.headers.get("x-cache", "none")

        async def remembered(*tokens: str) -> None:
            for token in tokens:
                for gateway in (0, 1, 0, 1):
                    await read(token, gateway)
                assert [(await read(token, g))[1] for g in (0, 1)] == ["hit", "hit"]

        async def refused(token: str) -> None:
            for gateway in (0, 1):
                body, outcome = await read(token, gateway)
                codes = [e["extensions"]["code"] for e in body.get("errors") or ()]
                assert codes == ["UNAUTHENTICATED"] and outcome != "hit", (gateway, body)

        second, third = await log_in(), await log_in()
        await remembered(first, second, third)
        await world.call(ENDING_SESSIONS["logOut"], first, gateway=1)
        await refused(first)
        await remembered(second, third)  # the account's other sessions are still good

        new_password = "a completely new password"
        await world.call(ENDING_SESSIONS["changePassword"], second, gateway=0,
                         current=PASSWORD, new=new_password)  # fmt: skip
        await refused(third)
        await remembered(second)  # the session that changed the password stays

        fourth = await log_in(new_password)
        await remembered(fourth)
        await world.call(ENDING_SESSIONS["logOutEverywhere"], fourth, gateway=1)
        await refused(second)
        await refused(fourth)
