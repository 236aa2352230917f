"""Sockets end with their session, and one account or address holds only so many.

Issue 19, findings 2 and 8: a graphql-transport-ws socket authenticated once kept answering
queries and mutations after its session ended (log-out, log-out everywhere, password
reset), and one token could hold thousands of sockets whose every subscription re-ran the
same database checks for each event. Served by uvicorn in-process, in production mode, on
SQLite and PostgreSQL with the real Redis; two gateways share the Redis where it matters.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import Tortoise

from domain.accounts import token_hash
from domain.clock import utcnow
from gateway.app import create_app
from gateway.events import Delivery
from infra.settings import Settings
from models import Member, OutboxJob, Session
from tests.authz.helpers import SHARE_ENV, create_env
from tests.conftest import make_settings
from tests.utils import databases
from tests.utils.accounts import User, sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.members import FULL_ACCESS, VIEWER, active_member
from tests.utils.sockets import closed, next_message, open_socket, run, served, subscribe

PRODUCTION = {"ENVIRONMENT": "production", "SECRET_KEY": "a-real-secret-for-tests-0123456789",
              "PUBLIC_URL": "https://collab.example.com"}  # fmt: skip

READ = "{ me { email } environments { id name } }"
TAKE_OVER = """
mutation($email: String!, $role: ID!) {
  inviteMember(input: { email: $email, accountRole: ADMIN,
                        shares: [{ root: true, roleIds: [$role] }] }) {
    member { id } errors { code } } }"""
SUBSCRIPTION = "subscription { sharedWithMeChanged { reason ownerId } }"
LOG_OUT = "mutation { logOut { ok errors { code } } }"
EVERYWHERE = "mutation { logOutEverywhere { ended errors { code } } }"
REQUEST_RESET = "mutation($email: String!) { requestPasswordReset(email: $email) { message } }"
RESET = """
mutation($token: String!, $new: String!) {
  resetPassword(token: $token, newPassword: $new) { account { email } errors { code } } }"""
LOG_IN = """
mutation($email: String!, $password: String!) { logIn(email: $email, password: $password) {
  token errors { code } } }"""
ME = "{ me { email } }"


@dataclass
class Gateway:
    url: str
    app: Starlette
    gql: GraphQLClient


Start = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def start(
    database_url: str, redis_url: str, redis_prefix: str, redis: Any
) -> AsyncIterator[Start]:
    """Gateways on one database and one Redis prefix: the first runs the app's lifespan
    (Tortoise), the others share it, each with its own live events and socket counts."""
    await databases.reset(database_url)
    await Tortoise.close_connections()
    async with AsyncExitStack() as stack:
        first = True

        async def make(**overrides: Any) -> Gateway:
            nonlocal first
            base = make_settings(database_url, redis_url, redis_prefix).model_dump()
            settings = Settings(_env_file=None, **{**base, **PRODUCTION, **overrides})  # type: ignore[call-arg]
            app = create_app(settings)
            if first:
                await stack.enter_async_context(app.router.lifespan_context(app))
                first = False
            else:
                stack.push_async_callback(app.state.services.events.close)
                stack.push_async_callback(app.state.redis.aclose)
            url = await stack.enter_async_context(served(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=url)
            )
            return Gateway(url, app, GraphQLClient(http))

        yield make


async def end_by_log_out(gateway: Gateway, user: User) -> None:
    assert (await user.gql(LOG_OUT)).ok("logOut")["ok"] is True


async def end_by_log_out_everywhere(gateway: Gateway, user: User) -> None:
    assert (await user.gql(EVERYWHERE)).ok("logOutEverywhere")["ended"] >= 1


async def end_by_password_reset(gateway: Gateway, user: User) -> None:
    await gateway.gql(REQUEST_RESET, email=user.email)
    job = await OutboxJob.filter(job="password_reset_email").order_by("-created_at").first()
    assert job is not None
    r = await gateway.gql(RESET, token=job.payload["token"], new="a brand new password")
    r.ok("resetPassword")


ENDINGS = {
    "logOut": end_by_log_out,
    "logOutEverywhere": end_by_log_out_everywhere,
    "resetPassword": end_by_password_reset,
}


@pytest.mark.parametrize("ending", list(ENDINGS))
async def test_ending_a_session_closes_its_sockets_on_every_gateway(start: Start, ending: str):
    a = await start()
    b = await start()
    victim = await sign_up(a.gql, "Victim")
    await create_env(victim, "payroll")
    # The victim's token, stolen: sockets on both gateways; one works as intended first.
    on_a = await open_socket(a.url, victim.token)
    on_b = await open_socket(b.url, victim.token)
    first = await run(on_b, "r1", READ)
    assert first["type"] == "next"
    assert first["payload"]["data"]["environments"][0]["name"] == "payroll"
    assert (await next_message(on_b))["type"] == "complete"
    await subscribe(on_b, "s1", SUBSCRIPTION)

    await ENDINGS[ending](a, victim)

    # Over HTTP the token is refused, and both sockets are closed at once: 4401, a reason.
    assert (await victim.gql(ME)).codes() == ["UNAUTHENTICATED"]
    for ws in (on_a, on_b):
        code, reason = await closed(ws, within=2)
        assert code == 4401 and "session ended" in reason.lower()
    # The stolen token opens no new socket either.
    again = await open_socket(b.url, victim.token, ack=False)
    assert (await closed(again))[0] == 4403
    assert (await b.gql.as_(victim.token)(ME)).codes() == ["UNAUTHENTICATED"]


async def test_logging_out_one_session_leaves_the_others_sockets_open(start: Start):
    gateway = await start()
    user = await sign_up(gateway.gql, "Two Tabs")
    r = await gateway.gql(LOG_IN, email=user.email, password="correct horse battery")
    other_token = r.ok("logIn")["token"]
    ending = await open_socket(gateway.url, user.token)
    staying = await open_socket(gateway.url, other_token)

    await end_by_log_out(gateway, user)

    assert (await closed(ending))[0] == 4401
    answer = await run(staying, "r1", ME)
    assert answer["payload"]["data"]["me"]["email"] == user.email
    await staying.close()


async def _end_silently(token: str) -> None:
    """The session ends without its notice reaching this gateway (a publish lost while
    Redis blinked, say): the row alone says so."""
    await Session.filter(token_hash=token_hash(token)).update(revoked_at=utcnow())


async def test_every_operation_rechecks_the_session(start: Start):
    gateway = await start()
    victim = await sign_up(gateway.gql, "Victim")
    ws = await open_socket(gateway.url, victim.token)
    assert (await run(ws, "r1", READ))["type"] == "next"
    await next_message(ws)  # complete
    await _end_silently(victim.token)

    # The attacker's next operation, a take-over, is refused and the socket closed.
    intruder = f"intruder-{uuid.uuid4().hex[:6]}@collab.example"
    await subscribe(ws, "m1", TAKE_OVER, email=intruder, role=FULL_ACCESS)
    code, reason = await closed(ws)
    assert code == 4401 and "session ended" in reason.lower()
    assert not await Member.exists(email=intruder)


async def test_an_idle_socket_closes_at_the_periodic_recheck_and_at_expiry(start: Start):
    gateway = await start(WS_SESSION_RECHECK_SECONDS=0.5)
    user = await sign_up(gateway.gql, "Idle")
    ws = await open_socket(gateway.url, user.token)
    await _end_silently(user.token)
    assert (await closed(ws, within=2))[0] == 4401  # no operation, no notice: the recheck

    gateway = await start()  # rechecks every 30 s: only the session's expiry ends it
    user = await sign_up(gateway.gql, "Expiring")
    soon = utcnow() + timedelta(seconds=1)
    await Session.filter(token_hash=token_hash(user.token)).update(expires_at=soon)
    ws = await open_socket(gateway.url, user.token)
    began = time.monotonic()
    assert (await closed(ws, within=3))[0] == 4401
    assert time.monotonic() - began < 2.5


async def _healthz_fast(gateway: Gateway) -> None:
    async with httpx.AsyncClient() as client:
        began = time.monotonic()
        assert (await client.get(f"{gateway.url}/healthz", timeout=1)).status_code == 200
        assert time.monotonic() - began < 1


async def test_sockets_are_capped_per_account_and_per_address_across_gateways(start: Start):
    a = await start(WS_MAX_SOCKETS_PER_ACCOUNT=3, WS_MAX_SOCKETS_PER_ADDRESS=5)
    b = await start(WS_MAX_SOCKETS_PER_ACCOUNT=3, WS_MAX_SOCKETS_PER_ADDRESS=5)
    user = await sign_up(a.gql, "Hoarder")
    held = [await open_socket(url, user.token) for url in (a.url, b.url, a.url)]
    refused = await open_socket(b.url, user.token, ack=False)
    code, reason = await closed(refused)
    assert code == 4429 and reason == "Too many open connections for this account"
    await _healthz_fast(a)

    # A socket that closes gives its slot back.
    await held.pop().close()
    for _ in range(20):
        ws = await open_socket(a.url, user.token, ack=False)
        if (await next_message(ws))["type"] == "connection_ack":
            held.append(ws)
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the closed socket's slot was never given back")

    # From one address: 5 in all, logged in or not yet.
    other = await sign_up(a.gql, "Neighbour")
    held.append(await open_socket(b.url, other.token))
    held.append(await open_socket(a.url, None, init=False))  # yet to send its init
    refused = await open_socket(b.url, other.token, ack=False)
    code, reason = await closed(refused)
    assert code == 4429 and reason == "Too many open connections from this address"
    for ws in held:
        await ws.close()


async def test_one_event_costs_one_check_per_account_not_per_subscription(
    start: Start, caplog: pytest.LogCaptureFixture
):
    gateway = await start(MAX_SUBSCRIPTIONS_PER_CONNECTION=5)
    owner = await sign_up(gateway.gql, "Owner")
    member = await sign_up(gateway.gql, "Member")
    member_id = await active_member(owner, member)
    env = await create_env(owner, "shop")
    sockets = [await open_socket(gateway.url, member.token) for _ in range(4)]
    for ws in sockets:
        for j in range(5):
            await subscribe(ws, f"s{j}", SUBSCRIPTION)
    await asyncio.sleep(0.3)  # the broker's Redis subscription is up

    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        grants = [{"memberId": member_id, "roleIds": [VIEWER]}]
        (await owner.gql(SHARE_ENV, e=env["id"], grants=grants)).ok("shareEnvironment")
        events = [await next_message(ws) for ws in sockets for _ in range(5)]
    assert {e["payload"]["data"]["sharedWithMeChanged"]["reason"] for e in events} == {"share.set"}
    await _healthz_fast(gateway)
    statements = [r.getMessage() for r in caplog.records if r.name == "tortoise.db_client"]
    session_checks = [s for s in statements if "session.token_hash" in s]
    membership_checks = [
        s for s in statements if 'FROM "member" WHERE "owner_id"' in s and '"account_id"=' in s
    ]
    # 20 subscriptions heard the event after one session check and one membership check
    # (the owner's own HTTP request is one session check more).
    assert len(session_checks) <= 2, session_checks
    assert len(membership_checks) <= 1, membership_checks
    for ws in sockets:
        await ws.close()


async def test_a_delivery_computes_once_for_all_its_listeners():
    calls = 0

    async def check() -> bool:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return True

    delivery = Delivery({"reason": "share.set"})
    answers = await asyncio.gather(*(delivery.once(("hears", 1), check) for _ in range(100)))
    assert answers == [True] * 100 and calls == 1
    assert await delivery.once(("hears", 2), check) and calls == 2
