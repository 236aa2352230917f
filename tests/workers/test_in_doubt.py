"""Emails whose fate is unknown are recorded, listed, and resent or dismissed by an operator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from domain import deliveries
from domain.errors import DomainError, ErrorCode
from domain.unit_of_work import unit_of_work
from models import OutboxJob, OutboxStatus, SentEmail, SentEmailStatus
from tests.workers.conftest import Mailbox, eventually, serving
from workers.mailer import Email, Mailer


class HangingMailbox(Mailbox):
    """Takes the message, then never answers: the sender cannot know if it arrived."""

    hang = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hang:
            await asyncio.Event().wait()
        return await super().handle_DATA(server, session, envelope)


async def _leave_in_doubt(worker_settings: Any, key: str) -> None:
    """A batch cancelled during its hand-off, as when a worker's shutdown grace runs out."""
    # The batch's clean-up QUITs politely, and this server never answers: a short SMTP
    # timeout ends that wait in 2 s instead of the default 10 s.
    mailer = Mailer(worker_settings, timeout=2.0)
    email = Email(key, "doubt@collab.example", f"About {key}", "text\n", "<p>html</p>")
    task = asyncio.create_task(mailer.send_all([email, Email(f"{key}-next", email.to, "Next",
                                                             "t\n", "<p>h</p>")]))  # fmt: skip
    await eventually(lambda: SentEmail.exists(key=key, status=SentEmailStatus.SENDING))
    await asyncio.sleep(0.1)  # the DATA is with the server now
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.fixture
async def hanging(worker_settings: Any, db: str) -> Any:
    async with serving(HangingMailbox(), worker_settings) as served:
        yield served


async def test_an_email_cancelled_mid_hand_off_is_in_doubt_and_can_be_resent(hanging):
    box, settings = hanging
    await _leave_in_doubt(settings, "doubt:1")
    [listed] = await deliveries.list_in_doubt_emails()
    assert (listed.key, listed.recipient, listed.subject) == (
        "doubt:1", "doubt@collab.example", "About doubt:1",
    )  # fmt: skip
    assert not listed.resend_queued
    # The email after it was never handed over: released, not in doubt.
    assert not await SentEmail.exists(key="doubt:1-next")

    box.hang = False
    async with unit_of_work(None):
        await deliveries.resend_in_doubt_email("doubt:1")
    assert (await deliveries.list_in_doubt_emails())[0].resend_queued
    from tests.workers.conftest import running_worker

    async with running_worker(settings):
        await box.wait_for(1)
        await eventually(lambda: OutboxJob.exists(job="resend_email", status=OutboxStatus.DONE))
    [message] = box.messages
    assert message["Subject"] == "About doubt:1" and message["To"] == "doubt@collab.example"
    row = await SentEmail.get(key="doubt:1")
    assert row.status is SentEmailStatus.SENT and row.message is None
    assert await deliveries.list_in_doubt_emails() == []
    with pytest.raises(DomainError) as refused:  # sent now: nothing left to resend
        await deliveries.resend_in_doubt_email("doubt:1")
    assert refused.value.code is ErrorCode.INVALID_STATE


async def test_an_in_doubt_email_can_be_dismissed_as_arrived(hanging):
    _, settings = hanging
    await _leave_in_doubt(settings, "doubt:2")
    await deliveries.dismiss_in_doubt_email("doubt:2")
    row = await SentEmail.get(key="doubt:2")
    assert row.status is SentEmailStatus.SENT and row.message is None
    assert await deliveries.list_in_doubt_emails() == []
    for call in (deliveries.dismiss_in_doubt_email, deliveries.resend_in_doubt_email):
        with pytest.raises(DomainError) as missing:
            await call("no-such-key")
        assert missing.value.code is ErrorCode.NOT_FOUND
