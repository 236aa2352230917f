"""Metrics across processes: the worker's counts reach the gateway's /metrics through a
shared PROMETHEUS_MULTIPROC_DIR, and the worker can serve its own /metrics."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.ops.stack import Stack, invite, invited_ok, sign_up, stack_env
from tests.ops.test_observability import metric
from tests.utils import databases
from tests.utils.processes import free_port
from tests.workers.conftest import Mailbox, eventually

pytestmark = pytest.mark.slow


@pytest.fixture
def sqlite_file(tmp_path) -> str:
    url = databases.sqlite_url(tmp_path)
    databases.migrate(url)
    return url


async def test_worker_counts_show_on_the_gateway_and_on_the_workers_own_port(
    sqlite_file, tmp_path, redis_url
):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    mailbox = Mailbox()
    await mailbox.start()
    worker_port = free_port()
    env = stack_env(sqlite_file, redis_url, mailbox.port, PROMETHEUS_MULTIPROC_DIR=str(shared))
    stack = Stack(env, tmp_path)
    try:
        url = stack.start_gateway()
        stack.start_worker(WORKER_METRICS_PORT=str(worker_port))
        token = await sign_up(url, sqlite_file)
        assert invited_ok(await invite(url, token, f"m-{uuid.uuid4().hex[:6]}@collab.example"))
        await mailbox.wait_for(1, within=15)

        async def scraped(where: str) -> str:
            async with httpx.AsyncClient() as client:
                return (await client.get(where, timeout=5)).text

        async def gateway_saw_it() -> bool:
            text = await scraped(f"{url}/metrics")
            done = metric(text, "collab_jobs_total", family="invitation_email", outcome="done")
            return metric(text, "collab_emails_total", outcome="sent") == 1 and done == 1

        assert await eventually(gateway_saw_it, within=10), await scraped(f"{url}/metrics")
        text = await scraped(f"{url}/metrics")
        assert metric(text, "collab_graphql_request_duration_seconds_count",
                      operation="InviteMember", type="mutation") == 1  # fmt: skip
        own = await scraped(f"http://127.0.0.1:{worker_port}/metrics")
        assert metric(own, "collab_emails_total", outcome="sent") == 1
    finally:
        stack.stop()
        await mailbox.stop()
