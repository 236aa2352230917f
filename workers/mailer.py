"""Sending email over SMTP (aiosmtplib), once per idempotency key, in batches.

Every email carries a key. Before an email is handed to the SMTP server its key is
claimed in the `sent_email` table (primary key, so two runs cannot both claim it); a
failed hand-off releases the claim so the retry sends it. A job that runs twice therefore
sends each email at most once, and one that fails half-way resumes where it stopped.

A batch (all emails of one job) uses one SMTP connection, opened on the first email that
actually needs sending.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
from tortoise.exceptions import IntegrityError

from collab import metrics
from collab.settings import Settings
from models import SentEmail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Email:
    key: str  # idempotency key: one email per key, ever
    to: str
    subject: str
    text: str
    html: str


class TransientMailError(Exception):
    """The server is down, busy or said 4xx: try again later."""


class PermanentMailError(Exception):
    """The server said 5xx for this message: retrying cannot help."""


@dataclass
class BatchReport:
    sent: list[Email] = field(default_factory=list)
    skipped: list[Email] = field(default_factory=list)  # already sent by an earlier run
    refused: list[tuple[Email, str]] = field(default_factory=list)  # permanent, per message


def _classify(exc: Exception) -> Exception:
    """Maps an aiosmtplib/OS failure to transient or permanent."""
    code: int | None = None
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        code = max(r.code for r in exc.recipients)
    elif isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        code = None  # a configuration problem an operator can fix: keep retrying
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        code = exc.code
    if code is not None and 500 <= code < 600:
        return PermanentMailError(f"{code} {exc}")
    return TransientMailError(f"{type(exc).__name__}: {exc}")


class Mailer:
    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.connections_opened = 0

    def message(self, email: Email) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.MAIL_FROM
        msg["To"] = email.to
        msg["Subject"] = email.subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="collab.localhost")
        msg.set_content(email.text)
        msg.add_alternative(email.html, subtype="html")
        return msg

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        implicit_tls = s.SMTP_TLS and s.SMTP_PORT == 465
        client = aiosmtplib.SMTP(
            hostname=s.SMTP_HOST, port=s.SMTP_PORT, timeout=self.timeout,
            use_tls=implicit_tls, start_tls=bool(s.SMTP_TLS and not implicit_tls),
            username=s.SMTP_USER or None, password=s.SMTP_PASSWORD if s.SMTP_USER else None,
        )  # fmt: skip
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Down, busy, TLS or login trouble: all things that get fixed, so retry.
            raise TransientMailError(f"{type(exc).__name__}: {exc}") from exc
        self.connections_opened += 1
        return client

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[Batch]:
        batch = Batch(self)
        try:
            yield batch
        finally:
            await batch.close()

    async def send_all(self, emails: Sequence[Email]) -> BatchReport:
        async with self.batch() as batch:
            for email in emails:
                await batch.send(email)
            return batch.report


async def _claim(email: Email) -> bool:
    try:
        await SentEmail.create(key=email.key, recipient=email.to, subject=email.subject[:255])
    except IntegrityError:
        return False
    return True


async def _release(email: Email) -> None:
    await SentEmail.filter(key=email.key).delete()


class Batch:
    """One SMTP connection, opened lazily, for all emails of a job."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self.client: aiosmtplib.SMTP | None = None
        self.report = BatchReport()

    async def send(self, email: Email) -> bool:
        """True when this call sent it. Raises TransientMailError (claim released)."""
        if not await _claim(email):
            self.report.skipped.append(email)
            return False
        try:
            if self.client is None:
                self.client = await self.mailer._connect()
            await self.client.send_message(self.mailer.message(email))
        except PermanentMailError as exc:
            await _release(email)
            self.report.refused.append((email, str(exc)))
            metrics.email_refused()
            return False
        except TransientMailError:
            await _release(email)
            raise
        except (aiosmtplib.SMTPException, OSError) as exc:
            await _release(email)
            error = _classify(exc)
            if isinstance(error, PermanentMailError):
                self.report.refused.append((email, str(error)))
                metrics.email_refused()
                await self._reset()
                return False
            await self._drop()
            raise error from exc
        except BaseException:
            await _release(email)
            raise
        self.report.sent.append(email)
        metrics.email_sent()
        log.info("sent %s to %s", email.key, email.to)
        return True

    async def _reset(self) -> None:
        if self.client is not None:
            try:
                await self.client.rset()
            except (aiosmtplib.SMTPException, OSError):
                await self._drop()

    async def _drop(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            client.close()

    async def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
