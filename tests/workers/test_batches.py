"""Many batches at once: each email goes out once, and the rest of the worker keeps a
database connection (lease renewals must never wait for a batch to end)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from models import OutboxJob, SentEmail, SentEmailStatus
from tests.workers.conftest import Mailbox, serving
from workers.mailer import Email, Mailer

BATCHES = 8  # more than the PostgreSQL pool (5) holds connections
EMAILS = 6


class SlowMailbox(Mailbox):
    """Takes a while per message, so that every batch is still running at once."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
async def slow(worker_settings: Any, db: str) -> Any:
    async with serving(SlowMailbox(), worker_settings) as served:
        yield served


def _batch(i: int) -> list[Email]:
    return [Email(f"batch:{i}:{n}", f"member{i}@collab.example", f"Batch {i} email {n}",
                  f"text {n}\n", f"<p>html {n}</p>") for n in range(EMAILS)]  # fmt: skip


async def test_concurrent_batches_send_each_email_once_and_leave_connections(slow):
    box, settings = slow
    mailer = Mailer(settings)
    runs = [asyncio.create_task(mailer.send_all(_batch(i))) for i in range(BATCHES)]
    await asyncio.sleep(0.1)  # every batch has claimed its keys and is sending
    # What a lease renewal needs: a connection, now. (Were every connection held by a
    # batch, each batch's own last statement would wait for one: they would never end.)
    await asyncio.wait_for(OutboxJob.all().count(), 30)
    assert not any(run.done() for run in runs), "a statement waited for a batch to end"
    reports = await asyncio.wait_for(asyncio.gather(*runs), 30)

    assert sorted(str(m["Subject"]) for m in box.messages) == sorted(
        e.subject for i in range(BATCHES) for e in _batch(i)
    )
    assert all(len(r.sent) == EMAILS and not r.busy and not r.refused for r in reports)
    rows = await SentEmail.filter(key__startswith="batch:").values_list("status", "message")
    assert rows and set(rows) == {(SentEmailStatus.SENT, None)}

    # The same batches again (a retried job): everything is known to be sent already.
    again = await asyncio.gather(*(mailer.send_all(_batch(i)) for i in range(BATCHES)))
    assert all(not r.sent and len(r.skipped) == EMAILS for r in again)
    assert len(box.messages) == BATCHES * EMAILS
