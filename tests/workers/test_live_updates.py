"""`sharedWithMeChanged` across processes: two gateways (uvicorn) and one worker.

A share made through gateway A reaches a websocket subscriber connected to gateway B,
through Redis pub/sub. Runs on PostgreSQL when it is up (SQLite otherwise).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
import redis as sync_redis
from websockets.asyncio.client import ClientConnection, connect

from tests.utils import processes
from tests.utils.accounts import PASSWORD, mark_verified_in

pytestmark = pytest.mark.slow

SUBSCRIPTION = "subscription { sharedWithMeChanged { reason ownerId at } }"
SIGN_UP = """mutation($email: String!, $password: String!, $name: String) {
  signUp(email: $email, password: $password, displayName: $name) {
    token account { id } errors { code } } }"""
INVITE = """mutation($email: String!) {
  inviteMember(input: { email: $email }) { member { id } errors { code } } }"""
ACCEPT = """mutation($id: ID) { acceptInvitation(id: $id) { member { status } errors { code } } }"""
UPDATE = """mutation($id: ID!, $shares: [ShareInput!]) {
  updateMember(id: $id, input: { shares: $shares }) { member { id } errors { code } } }"""
VIEWER = "51bbb782-5152-4b9b-8bfc-7b8d280c922d"


@pytest.fixture(scope="module")
def cluster(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[processes.Gateways]:
    with processes.gateways(redis_url, tmp_path_factory.mktemp("cluster"), worker=True,
                            MAX_SUBSCRIPTIONS_PER_CONNECTION="3") as running:  # fmt: skip
        yield running


async def gql(url: str, query: str, token: str | None = None, **variables: Any) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{url}/graphql", json={"query": query, "variables": variables},
                              headers=headers)  # fmt: skip
    body = r.json()
    assert not body.get("errors"), body
    return body["data"]


async def sign_up(url: str, name: str, verified_in: str = "") -> tuple[str, str, str]:
    """`verified_in`: the database to mark the account verified in (owners who invite)."""
    email = f"{name}-{uuid.uuid4().hex[:6]}@collab.example"
    data = (await gql(url, SIGN_UP, email=email, password=PASSWORD, name=name))["signUp"]
    if verified_in:
        await mark_verified_in(verified_in, data["account"]["id"])
    return data["account"]["id"], email, data["token"]


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://") + "/graphql"


async def open_ws(url: str, token: str | None) -> ClientConnection:
    ws = await connect(ws_url(url), subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    return ws


async def next_message(ws: ClientConnection, within: float = 5) -> dict:
    frame = await asyncio.wait_for(ws.recv(), within)
    assert isinstance(frame, str), "text frames: browsers' graphql-ws parses only text"
    return json.loads(frame)


async def wait_subscribed(cluster: processes.Gateways, count: int) -> None:
    client = sync_redis.Redis.from_url(cluster.redis_url)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        [(_, subscribers)] = cast(list[tuple[bytes, int]], client.pubsub_numsub(cluster.channel))
        if subscribers >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the gateway never subscribed to live events")


async def test_share_made_on_gateway_a_reaches_subscriber_on_gateway_b(cluster: processes.Gateways):
    owner_id, _, owner_token = await sign_up(cluster.urls[0], "owner", cluster.database_url)
    member_account, member_email, member_token = await sign_up(
        cluster.urls[0], "member", cluster.database_url
    )
    invited = await gql(cluster.urls[0], INVITE, owner_token, email=member_email)
    member_id = invited["inviteMember"]["member"]["id"]
    accepted = await gql(cluster.urls[0], ACCEPT, member_token, id=member_id)
    assert accepted["acceptInvitation"]["member"]["status"] == "ACTIVE"

    ws = await open_ws(cluster.urls[1], member_token)
    try:
        assert (await next_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "s1", "type": "subscribe",
                                  "payload": {"query": SUBSCRIPTION}}))  # fmt: skip
        await wait_subscribed(cluster, 1)
        shares = [{"root": True, "roleIds": [VIEWER]}]
        updated = await gql(cluster.urls[0], UPDATE, owner_token, id=member_id, shares=shares)
        assert updated["updateMember"]["errors"] == []
        message = await next_message(ws)
        assert message["type"] == "next" and message["id"] == "s1"
        event = message["payload"]["data"]["sharedWithMeChanged"]
        assert event["reason"] == "share.replace" and event["ownerId"] == owner_id
        assert event["at"]
    finally:
        await ws.close()

    # Someone else's change is not pushed to this member.
    other_owner, _, other_token = await sign_up(cluster.urls[0], "other", cluster.database_url)
    ws = await open_ws(cluster.urls[1], member_token)
    try:
        await next_message(ws)
        await ws.send(json.dumps({"id": "s2", "type": "subscribe",
                                  "payload": {"query": SUBSCRIPTION}}))  # fmt: skip
        await wait_subscribed(cluster, 1)
        _, stranger_email, _ = await sign_up(cluster.urls[0], "stranger", cluster.database_url)
        await gql(cluster.urls[0], INVITE, other_token, email=stranger_email)
        with pytest.raises(TimeoutError):
            await next_message(ws, within=0.7)
    finally:
        await ws.close()
    assert other_owner != member_account


async def test_subscriptions_need_a_login_and_are_capped(cluster: processes.Gateways):
    ws = await open_ws(cluster.urls[1], None)
    try:
        with pytest.raises(Exception) as closed:
            await next_message(ws)
        assert "4403" in str(closed.value) or "UNAUTHENTICATED" in str(closed.value)
    finally:
        await ws.close()

    _, _, token = await sign_up(cluster.urls[0], "capped")
    ws = await open_ws(cluster.urls[1], token)
    try:
        assert (await next_message(ws))["type"] == "connection_ack"
        for i in range(4):  # MAX_SUBSCRIPTIONS_PER_CONNECTION=3 in this cluster
            await ws.send(json.dumps({"id": f"c{i}", "type": "subscribe",
                                      "payload": {"query": SUBSCRIPTION}}))  # fmt: skip
        refusal = await next_message(ws)
        assert refusal["type"] == "error" and refusal["id"] == "c3"
        assert "limit" in refusal["payload"][0]["message"].lower()
    finally:
        await ws.close()
