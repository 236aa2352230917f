"""Redis and PostgreSQL restarts under a running `collab serve` and `collab worker`.

Both servers are private to this test (own port, own directory), so stopping them
disturbs nobody. Every invitation committed before, during or after an outage must
reach the SMTP server exactly once, the gateway must answer a coded 503 (never an
internal error) while the database is away, and each process logs one line when an
outage starts and one when it ends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.ops.stack import Stack, invite, invited_ok, sign_up, stack_env
from tests.utils import databases
from tests.utils.servers import PrivatePostgres, PrivateRedis
from tests.workers.conftest import Mailbox, eventually

pytestmark = pytest.mark.slow


@pytest.fixture
def servers() -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    pg, redis = PrivatePostgres(), PrivateRedis()
    try:
        pg.start()
        pg.create_database()
        redis.start()
        databases.migrate(pg.url)
        yield pg, redis
    finally:
        redis.close()
        pg.close()


def outage_lines(stack: Stack, name: str, dependency: str) -> tuple[int, int]:
    events = [
        line.get("event") for line in stack.json_lines(name) if line.get("dependency") == dependency
    ]
    return events.count("outage_started"), events.count("outage_ended")


async def test_worker_and_gateway_ride_out_redis_and_postgres_restarts(servers, tmp_path):
    pg, redis = servers
    mailbox = Mailbox()
    await mailbox.start()
    stack = Stack(stack_env(pg.url, redis.url, mailbox.port), tmp_path)
    try:
        url = stack.start_gateway()
        stack.start_worker()
        token = await sign_up(url, pg.url)
        emails = [f"m{i}-{uuid.uuid4().hex[:6]}@collab.example" for i in range(4)]

        assert invited_ok(await invite(url, token, emails[0]))
        await mailbox.wait_for(1, within=15)

        # Redis away: the mutation still commits; its email leaves once Redis is back.
        redis.stop()
        assert invited_ok(await invite(url, token, emails[1]))
        async with httpx.AsyncClient() as client:
            ready = await client.get(f"{url}/readyz")
        assert ready.status_code == 503 and ready.json()["down"] == ["redis"]
        # The worker has met the outage (its poll failed) and rides it out.
        await eventually(lambda: outage_lines(stack, "worker", "redis")[0] >= 1, within=10)
        assert stack.alive("worker"), stack.log("worker")
        redis.start()
        await mailbox.wait_for(2, within=20)

        # PostgreSQL away: a coded 503, never an internal error; then everything resumes.
        assert invited_ok(await invite(url, token, emails[2]))  # committed just before
        pg.stop()
        during = await invite(url, token, f"never-{uuid.uuid4().hex[:6]}@collab.example")
        assert during.status_code == 503, during.text
        codes = [e["extensions"]["code"] for e in during.json()["errors"]]
        assert codes and set(codes) == {"SERVICE_UNAVAILABLE"}, during.text
        assert during.headers["x-request-id"]
        async with httpx.AsyncClient() as client:
            ready = await client.get(f"{url}/readyz")
        assert ready.status_code == 503 and "database" in ready.json()["down"]
        await eventually(lambda: outage_lines(stack, "worker", "database")[0] >= 1, within=10)
        assert stack.alive("worker") and stack.alive("gateway")
        pg.start()

        async def invited_after_restart() -> bool:
            return invited_ok(await invite(url, token, emails[3]))

        assert await eventually(invited_after_restart, within=20)
        await mailbox.wait_for(4, within=30)
        await asyncio.sleep(2)  # anything sent twice would have arrived by now

        for email in emails:
            assert len(mailbox.to(email)) == 1, (email, mailbox.subjects())
        assert len(mailbox.messages) == 4, mailbox.subjects()

        # One line when each outage started and one when it ended, per process.
        await eventually(lambda: outage_lines(stack, "worker", "database")[1] >= 1, within=10)
        assert outage_lines(stack, "worker", "redis") == (1, 1), stack.log("worker")
        assert outage_lines(stack, "worker", "database") == (1, 1), stack.log("worker")
        await eventually(lambda: outage_lines(stack, "gateway", "database")[1] >= 1, within=10)
        assert outage_lines(stack, "gateway", "database") == (1, 1), stack.log("gateway")
        assert outage_lines(stack, "gateway", "redis") == (1, 1), stack.log("gateway")
        assert "INTERNAL_SERVER_ERROR" not in stack.log("gateway")
    finally:
        stack.stop()
        await mailbox.stop()
