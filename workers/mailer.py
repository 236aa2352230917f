"""Sending email over SMTP (aiosmtplib), once per idempotency key, in batches.

The jobs it is made of, one module each: rendering a message (workers.rendering), the
SMTP session in either mode (workers.smtp_session, workers.smtp_pipeline), the delivery
ledger of `sent_email` rows (workers.delivery_ledger) and the batch that drives them
(workers.batch). `Mailer` holds what a worker shares between batches: the settings, the
sender, and the connection counters.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from email.utils import formataddr, parseaddr

import aiosmtplib

from infra.settings import Settings
from workers import rendering, smtp_session
from workers.batch import Batch, BatchReport, HandBack, Run
from workers.delivery_ledger import release_previous_runs
from workers.rendering import Email
from workers.smtp_session import PermanentMailError, TransientMailError

__all__ = [
    "BatchReport",
    "Email",
    "HandBack",
    "Mailer",
    "PermanentMailError",
    "Run",
    "TransientMailError",
    "release_previous_runs",
    "send_stored",
]


class Mailer:
    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.connections_opened = 0
        self.connections_pipelined = 0
        name, address = parseaddr(settings.MAIL_FROM)
        self.sender = address or settings.MAIL_FROM
        self._from = formataddr((name, self.sender), charset="utf-8")

    def render(self, email: Email) -> bytes:
        """The message as it goes over the wire (workers.rendering)."""
        return rendering.render(email, self._from)

    async def connect(self) -> aiosmtplib.SMTP:
        client = await smtp_session.connect(self.settings, self.timeout)
        self.connections_opened += 1
        return client

    async def send_all(self, emails: Sequence[Email], run: Run | None = None) -> BatchReport:
        """Sends what no run sent before, over one connection. Raises TransientMailError
        (everything unsent released for the retry) or HandBack."""
        batch = Batch(self, run or Run(None, uuid.uuid4().hex))
        await batch.run(list({e.key: e for e in emails}.values()))
        return batch.report


async def send_stored(mailer: Mailer, recipient: str, message: str) -> None:
    """Hands a stored message (an in-doubt email being resent) to SMTP as it was."""
    client = await mailer.connect()
    try:
        await client.sendmail(mailer.sender, [recipient], message.encode())
    except (aiosmtplib.SMTPException, OSError) as exc:
        client.close()
        raise smtp_session.classify(exc) from exc
    with contextlib.suppress(aiosmtplib.SMTPException, OSError):
        await client.quit()
