"""The SQLite default under two processes: `collab serve` and `collab worker` on one file.

Concurrent mutations (sign-ups, invitations, share changes, account-kind changes) run
while the worker writes its claims and outbox updates for a load-alert fan-out. With
WAL, a busy timeout and write transactions that queue for the lock, none of them may
answer an error, and "database is locked" never reaches a client.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.conftest import PLATFORM_TOKEN
from tests.ops.stack import Stack, stack_env
from tests.utils import databases
from tests.utils.accounts import User, mark_verified_in, sign_up
from tests.utils.graphql import GraphQLClient, Response
from tests.utils.members import ACCEPT_BY_ID, FULL_ACCESS, INVITE, VIEWER
from tests.workers.conftest import Mailbox

pytestmark = pytest.mark.slow

CREATE_ENV = """mutation($name: String!) {
  createEnvironment(input: { name: $name }) { environment { id } errors { code } } }"""
UPDATE_SHARES = """mutation($id: ID!, $shares: [ShareInput!]) {
  updateMember(id: $id, input: { shares: $shares }) { member { id } errors { code } } }"""
SET_KIND = """mutation($id: ID!, $kind: AccountKind!, $ends: DateTime) {
  platformSetAccountKind(accountId: $id, kind: $kind, trialEndsAt: $ends) {
    account { id kind } errors { code } } }"""
FAR_AHEAD = "2099-01-01T00:00:00+00:00"
REPORT_LOAD = """mutation($env: ID!, $message: String!) {
  reportLoadAlert(environmentId: $env, message: $message) { environment { id } errors { code } } }"""

MEMBER_COUNT = 12


def clean(response: Response, name: str) -> dict:
    """No top-level error at all (internal, unavailable or other), no payload error."""
    assert response.status == 200 and not response.errors, response.body
    payload = response.data[name]
    assert payload["errors"] == [], payload
    return payload


@pytest.fixture
def sqlite_file(tmp_path) -> str:
    url = databases.sqlite_url(tmp_path)
    databases.migrate(url)
    return url


async def test_gateway_and_worker_share_one_sqlite_file_without_lock_errors(
    sqlite_file, tmp_path, redis_url
):
    url = sqlite_file
    mailbox = Mailbox()
    await mailbox.start()
    stack = Stack(stack_env(url, redis_url, mailbox.port, PLATFORM_TOKEN=PLATFORM_TOKEN), tmp_path)
    try:
        base = stack.start_gateway()
        stack.start_worker()
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            gql = GraphQLClient(http)
            platform = GraphQLClient(http, headers={"X-Platform-Token": PLATFORM_TOKEN})
            owner = await sign_up(gql, "Owner", verified=False)
            await mark_verified_in(url, owner.id)  # owners verify before they may invite
            env = clean(await owner.gql(CREATE_ENV, name="shop-prod"), "createEnvironment")
            env_id = env["environment"]["id"]
            members = await asyncio.gather(
                *(sign_up(gql, f"m{i}", verified=False) for i in range(MEMBER_COUNT))
            )
            for member in members:  # members verify too, to accept invitations by id
                await mark_verified_in(url, member.id)
            member_ids = []
            for member in members:  # invitations first: the worker starts mailing meanwhile
                invited = clean(await owner.gql(INVITE, input={
                    "email": member.email, "shares": [{"root": True, "roleIds": [FULL_ACCESS]}],
                }), "inviteMember")  # fmt: skip
                member_ids.append(invited["member"]["id"])

            async def accept(member: User, member_id: str) -> None:
                clean(await member.gql(ACCEPT_BY_ID, id=member_id), "acceptInvitation")

            await asyncio.gather(*(accept(m, i) for m, i in zip(members, member_ids, strict=True)))

            async def churn(round_: int) -> None:
                """One round: every kind of write at once, against the worker's writes."""
                roles = [FULL_ACCESS if round_ % 2 else VIEWER]
                kind = "FULL" if round_ % 2 else "TRIAL"
                ends = None if round_ % 2 else FAR_AHEAD
                stranger = f"x{round_}-{uuid.uuid4().hex[:6]}@collab.example"
                calls = [
                    *((owner.gql(UPDATE_SHARES, id=i, shares=[{"root": True, "roleIds": roles}]),
                       "updateMember") for i in member_ids[:4]),
                    *((platform(SET_KIND, id=m.id, kind=kind, ends=ends), "platformSetAccountKind")
                      for m in members[4:8]),
                    (owner.gql(INVITE, input={"email": stranger}), "inviteMember"),
                    (platform(REPORT_LOAD, env=env_id, message=f"CPU at 9{round_}%"),
                     "reportLoadAlert"),
                ]  # fmt: skip
                answers = await asyncio.gather(*(call for call, _ in calls))
                for answer, (_, name) in zip(answers, calls, strict=True):
                    clean(answer, name)

            for round_ in range(4):
                await churn(round_)
        assert "database is locked" not in stack.log("gateway")
        assert "INTERNAL_SERVER_ERROR" not in stack.log("gateway")
        # The fan-outs went out too: owner and every member, four alerts each.
        await mailbox.wait_for(MEMBER_COUNT + 4 * (MEMBER_COUNT + 1), within=60)
        assert "database is locked" not in stack.log("worker"), stack.log("worker")
    finally:
        stack.stop()
        await mailbox.stop()
