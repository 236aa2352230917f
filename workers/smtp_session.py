"""The SMTP session of a batch, in either mode: one command at a time (aiosmtplib as it
is, `OneAtATime`) or pipelined (workers.smtp_pipeline.Pipeline) when the server offers
PIPELINING. Both have the same methods; `open_session` picks one.
"""

from __future__ import annotations

import contextlib

import aiosmtplib
from aiosmtplib.typing import SMTPStatus

from infra.settings import Settings
from workers.smtp_pipeline import Pipeline, offers_pipelining, quoted


class TransientMailError(Exception):
    """The server is down, busy or said 4xx: try again later."""


class PermanentMailError(Exception):
    """The server said 5xx for this message: retrying cannot help."""


def classify(exc: Exception) -> Exception:
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


async def connect(settings: Settings, reply_timeout: float) -> aiosmtplib.SMTP:
    """An open, secured, logged-in connection; TransientMailError when it cannot be had."""
    s = settings
    implicit_tls = s.SMTP_TLS and s.SMTP_PORT == 465
    client = aiosmtplib.SMTP(
        hostname=s.SMTP_HOST, port=s.SMTP_PORT, timeout=reply_timeout,
        use_tls=implicit_tls, start_tls=bool(s.SMTP_TLS and not implicit_tls),
        username=s.SMTP_USER or None, password=s.SMTP_PASSWORD if s.SMTP_USER else None,
    )  # fmt: skip
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError) as exc:
        # Down, busy, TLS or login trouble: all things that get fixed, so retry.
        raise TransientMailError(f"{type(exc).__name__}: {exc}") from exc
    return client


class OneAtATime:
    """aiosmtplib as it is, one command and its reply at a time (a server without
    PIPELINING); the same methods as `Pipeline`."""

    def __init__(self, client: aiosmtplib.SMTP, sender: str) -> None:
        self._client = client
        self._sender = sender

    async def envelope(self, to: str) -> None:
        """MAIL and RCPT as aiosmtplib's `mail()` and `rcpt()` send them, with the
        addresses quoted once (`quoted`)."""
        client, sender = self._client, self._sender
        if client.is_ehlo_or_helo_needed:  # the connection's first message says EHLO
            await client.mail(sender)
        else:
            response = await client.execute_command(b"MAIL", b"FROM:" + quoted(sender))
            if response.code != SMTPStatus.completed:
                raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)
        response = await client.execute_command(b"RCPT", b"TO:" + quoted(to))
        if response.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            raise aiosmtplib.SMTPRecipientRefused(response.code, response.message, to)

    async def message(self, data: bytes) -> None:
        await self._client.data(data)

    async def reset(self) -> None:
        await self._client.rset()

    async def abandon(self) -> bool:
        """After the envelope, without the message; True: the connection goes on."""
        await self._client.rset()
        return True

    async def quit(self) -> None:
        try:
            await self._client.quit()
        except (aiosmtplib.SMTPException, OSError):
            self._client.close()

    def close(self) -> None:
        self._client.close()


Session = OneAtATime | Pipeline


async def open_session(
    client: aiosmtplib.SMTP, sender: str, reply_timeout: float, pipelining: bool
) -> Session:
    """The session over an open connection: pipelined if allowed and the server offers it."""
    if not pipelining:
        return OneAtATime(client, sender)
    try:
        if client.is_ehlo_or_helo_needed:
            with contextlib.suppress(aiosmtplib.SMTPHeloError):  # HELO: no extensions
                await client.ehlo()
        if offers_pipelining(client):
            return Pipeline(client, reply_timeout, sender)
    except (aiosmtplib.SMTPException, OSError) as exc:
        client.close()
        raise TransientMailError(f"{type(exc).__name__}: {exc}") from exc
    return OneAtATime(client, sender)
