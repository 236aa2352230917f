"""SIGTERM to a real `collab serve`: the request in flight completes, websockets get 1001.

The request is held in flight honestly: the test takes SQLite's write lock from outside,
so the gateway's `signUp` waits for it (busy timeout), and releases it after SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
import uuid

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.ops.stack import SIGN_UP, Stack, post, sign_up, stack_env
from tests.ops.test_observability import metric
from tests.utils import databases
from tests.utils.accounts import PASSWORD

pytestmark = pytest.mark.slow

SUBSCRIPTION = "subscription { sharedWithMeChanged { reason } }"


@pytest.fixture
def sqlite_file(tmp_path) -> str:
    url = databases.sqlite_url(tmp_path)
    databases.migrate(url)
    return url


async def test_sigterm_finishes_the_request_in_flight_and_closes_websockets_1001(
    sqlite_file, tmp_path, redis_url
):
    env = stack_env(sqlite_file, redis_url, 1, GATEWAY_SHUTDOWN_GRACE_SECONDS="15",
                    SQLITE_BUSY_TIMEOUT_MS="20000")  # fmt: skip
    stack = Stack(env, tmp_path)
    try:
        url = stack.start_gateway()
        token = await sign_up(url, sqlite_file)
        ws = await connect(url.replace("http://", "ws://") + "/graphql",
                           subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]  # fmt: skip
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {token}"}}))  # fmt: skip
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": SUBSCRIPTION}}))  # fmt: skip
        redis = Redis.from_url(redis_url)
        channel = f"{env['REDIS_KEY_PREFIX']}:events"
        for _ in range(100):
            [(_, subscribers)] = await redis.pubsub_numsub(channel)
            if subscribers:
                break
            await asyncio.sleep(0.05)
        await redis.aclose()
        async with httpx.AsyncClient() as client:
            scraped = (await client.get(f"{url}/metrics")).text
        assert metric(scraped, "collab_open_subscriptions") == 1

        lock = sqlite3.connect(sqlite_file.removeprefix("sqlite://"), isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # the gateway's next write waits for this
        email = f"late-{uuid.uuid4().hex[:6]}@collab.example"
        in_flight = asyncio.create_task(post(url, SIGN_UP, email=email, password=PASSWORD))
        await asyncio.sleep(1.0)
        assert not in_flight.done()

        stack.procs["gateway"].send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert not in_flight.done()  # still waiting for the lock, not cut off
        await asyncio.sleep(0.5)
        with pytest.raises(httpx.ConnectError):  # no new connections while draining
            async with httpx.AsyncClient() as client:
                await client.get(f"{url}/healthz", timeout=2)

        lock.execute("COMMIT")
        lock.close()
        answer = await asyncio.wait_for(in_flight, 15)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert not body.get("errors") and body["data"]["signUp"]["token"], body

        started = time.monotonic()
        # uvicorn re-raises the signal once it has shut down cleanly: killed by SIGTERM.
        code = stack.procs["gateway"].wait(15)
        assert code in (0, -signal.SIGTERM), stack.log("gateway")
        assert "Application shutdown complete" in stack.log("gateway")
        assert time.monotonic() - started < 15
    finally:
        stack.stop()
