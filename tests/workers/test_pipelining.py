"""SMTP pipelining: with a server that offers it, a batch sends MAIL, RCPT and DATA in one
write; every delivery promise (each email once, refusals per message, retries resend only
what did not go out, a key another run took is left to it) holds with it and without."""

from __future__ import annotations

from typing import Any

import pytest

from models import SentEmail, SentEmailStatus
from tests.workers.conftest import Mailbox, serving
from workers.mailer import Email, Mailer, TransientMailError
from workers.smtp_pipeline import _Replies, wire_format

MODES = [pytest.param(True, id="pipelined"), pytest.param(False, id="one-command-at-a-time")]


def _emails(tag: str, n: int, to: str = "member@collab.example") -> list[Email]:
    return [Email(f"{tag}:{i}", to, f"{tag} email {i}", f"text {i}\n.leading dot\n",
                  f"<p>html {i}</p>") for i in range(n)]  # fmt: skip


class RecordingMailbox(Mailbox):
    """Counts the commands that arrive before the server has answered the previous one:
    only a client that pipelines sends those."""

    def __init__(self) -> None:
        super().__init__()
        self.pipelined_commands = 0

    def _protocol(self) -> Any:
        protocol = super()._protocol()
        box = self
        original = protocol.push

        async def push(status: str) -> None:
            reader = protocol._reader
            if reader is not None and reader._buffer and status[:3] in ("250", "550"):
                box.pipelined_commands += 1  # the next command was already waiting
            await original(status)

        protocol.push = push  # type: ignore[method-assign]
        return protocol


@pytest.fixture
async def server(worker_settings: Any, db: str) -> Any:
    async with serving(RecordingMailbox(), worker_settings) as served:
        yield served


@pytest.mark.parametrize("offered", MODES)
async def test_a_batch_pipelines_when_the_server_offers_it(server, offered):
    box, settings = server
    box.pipelining = offered
    mailer = Mailer(settings)

    report = await mailer.send_all(_emails("batch", 20))

    assert [str(m["Subject"]) for m in box.messages] == [f"batch email {i}" for i in range(20)]
    assert "\n.leading dot" in box.messages[3].get_body(("plain",)).get_content()
    assert len(report.sent) == 20 and box.connections == 1
    assert mailer.connections_pipelined == (1 if offered else 0)
    assert (box.pipelined_commands > 0) is offered
    rows = await SentEmail.filter(key__startswith="batch:").values_list("status", flat=True)
    assert set(rows) == {SentEmailStatus.SENT}


async def test_pipelining_can_be_turned_off(server):
    box, settings = server
    mailer = Mailer(settings.model_copy(update={"SMTP_PIPELINING": False}))

    await mailer.send_all(_emails("off", 5))

    assert len(box.messages) == 5 and mailer.connections_pipelined == 0
    assert box.pipelined_commands == 0


@pytest.mark.parametrize("offered", MODES)
async def test_a_refused_recipient_is_refused_alone(server, offered):
    box, settings = server
    box.pipelining = offered
    box.unknown = {"nobody@collab.example"}
    emails = _emails("mixed", 2) + _emails("gone", 1, "nobody@collab.example") + _emails("late", 2)

    report = await Mailer(settings).send_all(emails)

    assert [e.key for e, _ in report.refused] == ["gone:0"]
    assert "550" in report.refused[0][1]
    assert sorted(e.key for e in report.sent) == ["late:0", "late:1", "mixed:0", "mixed:1"]
    assert len(box.messages) == 4 and box.connections == 1  # RSET, not a new connection
    assert not await SentEmail.exists(key="gone:0")


@pytest.mark.parametrize("offered", MODES)
async def test_a_busy_server_keeps_what_went_out_and_the_retry_sends_the_rest(server, offered):
    box, settings = server
    box.pipelining = offered
    mailer = Mailer(settings)
    emails = _emails("retry", 6)
    sent_before = 0

    async def busy_after_three(*args: Any) -> str:
        nonlocal sent_before
        if sent_before == 3:
            return "451 4.3.0 Mailbox busy, try again later"
        sent_before += 1
        return await Mailbox.handle_DATA(box, *args)

    box.handle_DATA = busy_after_three  # type: ignore[method-assign]
    with pytest.raises(TransientMailError, match="451"):
        await mailer.send_all(emails)
    assert len(box.messages) == 3
    statuses = dict(await SentEmail.filter(key__startswith="retry:").values_list("key", "status"))
    assert statuses == {f"retry:{i}": SentEmailStatus.SENT for i in range(3)}

    sent_before = -100  # the server is fine again
    report = await mailer.send_all(emails)
    assert sorted(e.key for e in report.sent) == [f"retry:{i}" for i in range(3, 6)]
    assert len(report.skipped) == 3
    assert sorted(str(m["Subject"]) for m in box.messages) == [f"retry email {i}" for i in range(6)]


@pytest.mark.parametrize("offered", MODES)
async def test_a_key_another_run_took_is_left_to_it(server, offered):
    """Between this batch's claim and its turn, another run took email 2 over: it is not
    sent from here, and the emails after it still are (over a new connection when
    pipelined, since only closing one abandons a started DATA)."""
    box, settings = server
    box.pipelining = offered
    emails = _emails("taken", 4)
    original = box.handle_RCPT
    recipients = 0

    async def take_over(server_: Any, session: Any, envelope: Any, address: str,
                        options: list[str]) -> str:  # fmt: skip
        nonlocal recipients
        recipients += 1
        if recipients == 2:  # email 1's envelope: email 2 is claimed, not yet SENDING
            await SentEmail.filter(key="taken:2").update(claimed_by="another-run")
        return await original(server_, session, envelope, address, options)

    box.handle_RCPT = take_over  # type: ignore[method-assign]
    report = await Mailer(settings).send_all(emails)

    assert [e.key for e in report.busy] == ["taken:2"]
    assert sorted(e.key for e in report.sent) == ["taken:0", "taken:1", "taken:3"]
    assert [str(m["Subject"]) for m in box.messages] == ["taken email 0", "taken email 1",
                                                         "taken email 3"]  # fmt: skip
    assert box.connections == (2 if offered else 1)
    row = await SentEmail.get(key="taken:2")
    assert row.status == SentEmailStatus.CLAIMED and row.claimed_by == "another-run"


async def test_replies_split_anywhere_are_read_whole_and_in_order():
    replies = _Replies()
    for chunk in (b"250-first line\r\n25", b"0 second line\r\n354 Go ahe", b"ad\r\n550 no\r\n"):
        replies.data_received(chunk)

    assert [tuple(await replies.reply(1)) for _ in range(3)] == [
        (250, "first line\nsecond line"), (354, "Go ahead"), (550, "no")]  # fmt: skip


def test_a_message_goes_over_the_wire_with_crlf_and_its_leading_dots_doubled():
    assert wire_format(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"
