"""Real `collab worker` processes killed and stopped mid fan-out, and `collab dev` stopped.

A share of 120 environments becomes 120 emails to an SMTP server that takes 20 ms per
message, so a signal lands in the middle of the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import Tortoise

from bench import workers as bench
from domain import deliveries, outbox
from domain.jobs import Job
from domain.unit_of_work import unit_of_work
from models import OutboxJob, OutboxStatus, SentEmail, SentEmailStatus
from tests.utils import databases
from tests.utils.processes import free_port, start
from tests.workers.conftest import Mailbox, eventually

pytestmark = pytest.mark.slow
FANOUT = 120


class SlowMailbox(Mailbox):
    delay = 0.02

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
async def pg(postgres_database: str) -> AsyncIterator[str]:
    """PostgreSQL only: these tests run separate worker processes on one database."""
    await databases.reset(postgres_database)
    try:
        yield postgres_database
    finally:
        await Tortoise.close_connections()


@pytest.fixture
async def slow_mailbox() -> AsyncIterator[SlowMailbox]:
    box = SlowMailbox()
    await box.start()
    yield box
    await box.stop()


@pytest.fixture
def worker_env(pg: str, redis_url: str, redis_prefix: str, slow_mailbox: Mailbox) -> dict:
    return {
        **os.environ, "DATABASE_URL": pg, "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": redis_prefix, "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(slow_mailbox.port), "SMTP_TLS": "false",
        "PUBLIC_URL": "http://collab.test", "ENVIRONMENT": "development",
    }  # fmt: skip


@pytest.fixture
def workers(worker_env: dict, tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker-{len(procs)}.log").open("wb")
        proc = start(["worker"], worker_env, log)
        procs.append(proc)
        return proc

    yield spawn
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


async def _fan_out() -> None:
    """A committed share of FANOUT environments: its job waits in the outbox for a relay."""
    owner, group = await bench.seed_fanout(FANOUT)
    member = await bench.share_group(owner, group)
    async with unit_of_work(None):
        await outbox.add(Job.SHARE_NOTIFICATIONS, {"member_id": str(member.id)},
                         owner_id=owner.id)  # fmt: skip


def _subjects(box: Mailbox) -> list[str]:
    return [str(m["Subject"]) for m in box.messages]


async def test_killed_worker_is_taken_over_within_15_s_with_at_most_one_in_doubt(
    workers, slow_mailbox
):
    await _fan_out()
    first = workers()
    await slow_mailbox.wait_for(10, within=30)
    first.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    first.wait(5)
    workers()

    async def finished() -> bool:
        in_doubt = await SentEmail.filter(status=SentEmailStatus.IN_DOUBT).count()
        return len(set(_subjects(slow_mailbox))) + in_doubt >= FANOUT and await OutboxJob.exists(
            status=OutboxStatus.DONE
        )

    assert await eventually(finished, within=15), (
        f"{len(slow_mailbox.messages)} of {FANOUT} emails 15 s after the kill"
    )
    assert time.monotonic() - killed_at < 15
    subjects = _subjects(slow_mailbox)
    assert len(subjects) == len(set(subjects)), "an email was sent twice"
    doubtful = await deliveries.list_in_doubt_emails()
    assert len(doubtful) <= 1
    arrived = set(subjects)
    missing = FANOUT - len(arrived)
    assert missing <= len(doubtful)  # whatever did not arrive is recorded as in doubt
    for email in doubtful:  # recorded with what an operator needs to decide
        assert email.recipient.startswith("member-") and "shared the environment" in email.subject
    assert await SentEmail.filter(status=SentEmailStatus.SENT).count() == FANOUT - len(doubtful)
    assert not await SentEmail.filter(status__in=[SentEmailStatus.CLAIMED,
                                                  SentEmailStatus.SENDING]).exists()  # fmt: skip


async def test_sigterm_hands_the_rest_back_and_loses_nothing(workers, slow_mailbox):
    await _fan_out()
    first = workers()
    await slow_mailbox.wait_for(10, within=30)
    first.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    # Waiting without blocking this loop: it also runs the SMTP server.
    await eventually(lambda: first.poll() is not None, within=15)
    assert first.poll() == 0
    assert time.monotonic() - stopped_at < 5, "stops after the email in hand, not the batch"
    assert len(slow_mailbox.messages) < FANOUT, "the signal landed mid fan-out"
    row = await OutboxJob.get(job=Job.SHARE_NOTIFICATIONS.value)
    assert row.status is OutboxStatus.PENDING and row.lease_owner is None  # handed back
    assert await deliveries.list_in_doubt_emails() == []
    # The last email before the hand-back arrived, and is recorded so (not left SENDING,
    # which the next run would have to call in doubt).
    assert await SentEmail.filter(status=SentEmailStatus.SENT).count() == len(slow_mailbox.messages)
    workers()
    await slow_mailbox.wait_for(FANOUT, within=20)
    await eventually(lambda: OutboxJob.exists(status=OutboxStatus.DONE), within=5)
    subjects = _subjects(slow_mailbox)
    assert len(subjects) == FANOUT == len(set(subjects))
    assert await deliveries.list_in_doubt_emails() == []


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_collab_dev_stops_its_embedded_redis_on_sigterm(tmp_path: Path):
    port, redis_port, smtp_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SMTP_HOST")}
    env.update(COLLAB_DATA_DIR=str(tmp_path), DATABASE_URL=f"sqlite://{tmp_path / 'dev.db'}")
    log_path = tmp_path / "dev.log"
    with log_path.open("wb") as log:
        proc = start(["dev", "--port", str(port), "--redis-port", str(redis_port),
                      "--smtp-port", str(smtp_port)], env, log)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert _port_in_use(redis_port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, log_path.read_text()
        deadline = time.monotonic() + 10
        while _port_in_use(redis_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _port_in_use(redis_port), "the embedded redis-server outlived collab dev"
        assert not _port_in_use(port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
