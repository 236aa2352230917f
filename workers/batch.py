"""A batch: all emails of one job, sent once per idempotency key over one SMTP session.

Every email carries a key, and every key has one `sent_email` row (workers.delivery_ledger;
primary key, so two runs cannot both own it). A batch opens its SMTP session
(workers.smtp_session: pipelined when the server offers it) on the first email that
actually needs sending, and moves each of its rows through

    CLAIMED  (reserved for this run, all at once, before anything is sent)
    SENDING  (being handed to SMTP now; it carries the message for a resend)
    SENT     (the server said 250)

One statement per email marks the previous email SENT and the next one SENDING, and it
has committed before the next message's DATA goes out, so at any moment a batch has at
most one SENDING row. A worker killed mid-batch therefore leaves at most one email whose
fate is unknown: the run that takes the job over (`release_previous_runs`) records that
row as IN_DOUBT (an operator can list it and resend it, see domain/deliveries.py) and
deletes the dead run's other CLAIMED rows, so those are sent, once, by the new run.

A hand-off that fails (server down, 4xx, 5xx) releases its row, so a retry resends
exactly what did not go out. A worker asked to stop (SIGTERM) finishes the email in
hand and gives the rest back (`HandBack`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiosmtplib

from infra import metrics
from models import SentEmailStatus
from workers.delivery_ledger import Ledger
from workers.rendering import Email
from workers.smtp_pipeline import Pipeline
from workers.smtp_session import PermanentMailError, Session, classify, open_session

if TYPE_CHECKING:
    from workers.mailer import Mailer

log = logging.getLogger(__name__)

S = SentEmailStatus


@dataclass(frozen=True)
class Run:
    """The job run a batch belongs to: its rows name it, so a later run can tell them."""

    outbox_id: uuid.UUID | None
    token: str
    stopping: asyncio.Event | None = None  # set when the worker has been asked to stop


class HandBack(Exception):
    """The worker is stopping: the rest of this batch goes back to the queue."""


@dataclass
class BatchReport:
    sent: list[Email] = field(default_factory=list)
    skipped: list[Email] = field(default_factory=list)  # SENT or IN_DOUBT already
    busy: list[Email] = field(default_factory=list)  # another live run is sending it
    refused: list[tuple[Email, str]] = field(default_factory=list)  # permanent, per message


class Batch:
    def __init__(self, mailer: Mailer, run: Run) -> None:
        self.mailer = mailer
        self.run_ = run
        self.durable = mailer.settings.SENT_EMAIL_DURABLE_COMMIT
        self.report = BatchReport()
        self.smtp: Session | None = None  # the batch's session
        self.sending: Email | None = None  # the one row of this batch in SENDING
        self.ledger: Ledger
        self.claimed: set[str] = set()  # this run's keys still CLAIMED (not yet handed over)

    async def run(self, emails: list[Email]) -> None:
        if not emails:
            return
        async with Ledger.open(self.run_.token, self.run_.outbox_id, self.durable) as ledger:
            self.ledger = ledger
            await self._run(emails)

    async def _run(self, emails: list[Email]) -> None:
        mine = await self._reserve(emails)
        try:
            for email in mine:
                if self.run_.stopping is not None and self.run_.stopping.is_set():
                    # The email in hand went out: recorded SENT, or the run that takes
                    # the rest over would have to call it in doubt.
                    await self._confirm_last()
                    raise HandBack("the worker is stopping")
                await self._send(email)
            await self._confirm_last()
        except asyncio.CancelledError:
            # Cancelled mid hand-off (the shutdown grace ran out): nobody can tell.
            if self.sending is not None:
                await self.ledger.doubt(self.sending)
                log.warning("email %s is in doubt: cancelled during its hand-off",
                            self.sending.key)  # fmt: skip
                self.sending = None
            raise
        finally:
            keys, self.claimed = self.claimed, set()
            if keys:  # a batch that sent everything sends no statement here
                await self.ledger.release_unclaimed(sorted(keys))
            await self._close()

    async def _reserve(self, emails: list[Email]) -> list[Email]:
        """Claims every key no run holds yet; sorts the rest into skipped (SENT or
        IN_DOUBT already) and busy (another run holds it)."""
        rows = await self.ledger.reserve(emails)
        token = self.run_.token
        mine: list[Email] = []
        for email in emails:
            status, owner = rows.get(email.key, (None, None))
            if owner == token and status == S.CLAIMED:
                mine.append(email)
            elif status in (S.SENT, S.IN_DOUBT):
                self.report.skipped.append(email)
            else:
                self.report.busy.append(email)
        self.claimed = {e.key for e in mine}
        return mine

    async def _advance(self, email: Email, message: str) -> bool:
        """Previous email SENT, this one SENDING (with its message); False if not ours."""
        previous = self.sending
        ours = await self.ledger.advance(email, message, previous)
        self.claimed.discard(email.key)  # SENDING now, or not ours
        if previous is not None:
            self.report.sent.append(previous)
            metrics.email_sent()
            self.sending = None
        if not ours:
            return False
        self.sending = email
        return True

    async def _session(self) -> Session:
        """The batch's session, opened on first use; pipelined if the server offers."""
        if self.smtp is not None:
            return self.smtp
        mailer = self.mailer
        client = await mailer.connect()
        self.smtp = await open_session(client, mailer.sender, mailer.timeout,
                                       mailer.settings.SMTP_PIPELINING)  # fmt: skip
        if isinstance(self.smtp, Pipeline):
            mailer.connections_pipelined += 1
        return self.smtp

    async def _send(self, email: Email) -> None:
        data = self.mailer.render(email)
        smtp = await self._session()
        advance = asyncio.ensure_future(self._advance(email, data.decode()))
        handing = False
        try:
            try:  # envelope first, while the row is being marked SENDING
                await smtp.envelope(email.to)
            finally:
                ours = await advance
            if not ours:  # another run took this key over: leave it to that run
                self.report.busy.append(email)
                if not await smtp.abandon():
                    self.smtp = None
                return
            handing = True
            await smtp.message(data)  # the hand-off
        except (aiosmtplib.SMTPException, OSError) as exc:
            error = classify(exc)
            await self._release(email)
            if isinstance(error, PermanentMailError):
                self.report.refused.append((email, str(error)))
                metrics.email_refused()
                await self._reset()
                return
            await self._drop()
            raise error from exc
        except asyncio.CancelledError:
            if not handing:  # not handed over yet: plainly unsent
                await self._release(email)
            raise
        except Exception:
            await self._release(email)
            raise

    async def _release(self, email: Email) -> None:
        if self.sending is email:
            self.sending = None
        self.claimed.discard(email.key)
        await self.ledger.release(email)

    async def _confirm_last(self) -> None:
        if self.sending is None:
            return
        email, self.sending = self.sending, None
        await self.ledger.confirm(email)
        self.report.sent.append(email)
        metrics.email_sent()
        log.info("sent %d email(s), last %s", len(self.report.sent), email.key)

    async def _reset(self) -> None:
        if self.smtp is not None:
            try:
                await self.smtp.reset()
            except (aiosmtplib.SMTPException, OSError):
                await self._drop()

    async def _drop(self) -> None:
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            smtp.close()

    async def _close(self) -> None:
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            await smtp.quit()
