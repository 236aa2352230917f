"""Sending email over SMTP (aiosmtplib), once per idempotency key, in batches.

Every email carries a key, and every key has one `sent_email` row (primary key, so two
runs cannot both own it). A batch (all emails of one job) goes over one SMTP connection,
opened on the first email that actually needs sending (pipelined, two exchanges an email
instead of four, when the server offers it: workers/smtp_pipeline.py), and moves each of
its rows through

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

On PostgreSQL these per-email commits do not wait for the WAL flush
(`synchronous_commit = off`, unless SENT_EMAIL_DURABLE_COMMIT): a worker crash loses
nothing (the commit is visible at once), and only a crash of PostgreSQL itself could
forget the last fraction of a second of progress.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any, ClassVar

import aiosmtplib
from aiosmtplib.typing import SMTPStatus
from tortoise import Tortoise

from infra import metrics
from infra.settings import Settings
from models import SentEmail, SentEmailStatus
from workers.smtp_pipeline import Pipeline, offers_pipelining, quoted

log = logging.getLogger(__name__)

S = SentEmailStatus
CHUNK = 500  # rows per multi-row statement (SQLite allows 32766 parameters)


@dataclass(frozen=True)
class Email:
    key: str  # idempotency key: one email per key, ever
    to: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Run:
    """The job run a batch belongs to: its rows name it, so a later run can tell them."""

    outbox_id: uuid.UUID | None
    token: str
    stopping: asyncio.Event | None = None  # set when the worker has been asked to stop


class TransientMailError(Exception):
    """The server is down, busy or said 4xx: try again later."""


class PermanentMailError(Exception):
    """The server said 5xx for this message: retrying cannot help."""


class HandBack(Exception):
    """The worker is stopping: the rest of this batch goes back to the queue."""


@dataclass
class BatchReport:
    sent: list[Email] = field(default_factory=list)
    skipped: list[Email] = field(default_factory=list)  # SENT or IN_DOUBT already
    busy: list[Email] = field(default_factory=list)  # another live run is sending it
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


def _header(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("a header value never contains a line break")
    return value if value.isascii() else Header(value, "utf-8").encode()


def _qp_part(content_type: str, body: str, boundary: str) -> str:
    encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii")
    return (f"--{boundary}\nContent-Type: {content_type}; charset=\"utf-8\"\n"
            f"Content-Transfer-Encoding: quoted-printable\n\n{encoded}\n")  # fmt: skip


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
        """The message as it goes over the wire: text and HTML alternatives, UTF-8,
        quoted-printable (readable in any mail client). Written directly rather than
        through `email.message`: profiled at 2.7 ms a message with EmailMessage, the
        largest cost of a fan-out, and ~0.05 ms this way. "=_" cannot occur in
        quoted-printable text, so the boundary never collides with a body."""
        boundary = f"=_{uuid.uuid4().hex}"
        head = (
            f"From: {self._from}\nTo: {_header(email.to)}\n"
            f"Subject: {_header(email.subject)}\n"
            f"Date: {formatdate(localtime=False, usegmt=True)}\n"
            f"Message-ID: {make_msgid(domain='collab.localhost')}\nMIME-Version: 1.0\n"
            f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
        )
        return (head + _qp_part("text/plain", email.text, boundary)
                + _qp_part("text/html", email.html, boundary)
                + f"--{boundary}--\n").encode("utf-8")  # fmt: skip

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

    async def send_all(self, emails: Sequence[Email], run: Run | None = None) -> BatchReport:
        """Sends what no run sent before, over one connection. Raises TransientMailError
        (everything unsent released for the retry) or HandBack."""
        batch = _Batch(self, run or Run(None, uuid.uuid4().hex))
        await batch.run(list({e.key: e for e in emails}.values()))
        return batch.report


async def send_stored(mailer: Mailer, recipient: str, message: str) -> None:
    """Hands a stored message (an in-doubt email being resent) to SMTP as it was."""
    client = await mailer._connect()
    try:
        await client.sendmail(mailer.sender, [recipient], message.encode())
    except (aiosmtplib.SMTPException, OSError) as exc:
        client.close()
        raise _classify(exc) from exc
    with contextlib.suppress(aiosmtplib.SMTPException, OSError):
        await client.quit()


# --------------------------------------------------------------------------- SQL


ADVANCE_FIRST = (
    "UPDATE sent_email SET status = 'SENDING', message = ? %FROM% "
    "WHERE key = ? AND claimed_by = ? AND status = 'CLAIMED' RETURNING key"
)
# The previous email SENT and the next one SENDING, atomically.
ADVANCE = (
    "UPDATE sent_email SET "
    "status = CASE WHEN key = ? THEN 'SENDING' ELSE 'SENT' END, "
    "message = CASE WHEN key = ? THEN ? ELSE NULL END %FROM% "
    "WHERE claimed_by = ? AND ((key = ? AND status = 'CLAIMED') OR key = ?) RETURNING key"
)
CONFIRM = (
    "UPDATE sent_email SET status = 'SENT', message = NULL %FROM% "
    "WHERE key = ? AND claimed_by = ? RETURNING key"
)
# PostgreSQL: a batch's claims in one statement (arrays, so the statement is the same for
# any batch size and asyncpg prepares it once per connection); the keys it returns are
# the rows this run now owns.
RESERVE_PG = (
    "INSERT INTO sent_email (key, recipient, subject, sent_at, status, outbox_id, claimed_by) "
    "SELECT k, r, s, $4::timestamptz, 'CLAIMED', $5::uuid, $6::text "
    "FROM unnest($1::text[], $2::text[], $3::text[]) AS claim(k, r, s) "
    "ON CONFLICT (key) DO NOTHING RETURNING key"
)
STATUS_PG = "SELECT key, status FROM sent_email WHERE key = ANY($1::text[])"
# PostgreSQL: this one statement's commit does not wait for the WAL flush (set_config
# with is_local=true lasts for the statement's own transaction). One round trip, where
# BEGIN; SET LOCAL ...; UPDATE; COMMIT would be four. Measured: 2.1 -> 0.23 ms.
ASYNC_COMMIT = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"


def _advance_sql(template: str, durable: bool, postgres: bool) -> str:
    """The statement in the connection's dialect ($1... or ?) and commit mode."""
    if not postgres:
        return template.replace("%FROM% ", "")
    pieces = template.replace("%FROM%", "" if durable else ASYNC_COMMIT).split("?")
    return "".join(f"{piece}${i}" for i, piece in enumerate(pieces[:-1], 1)) + pieces[-1]


class _Statements:
    """Where a batch's per-email statements go.

    On PostgreSQL a batch holds one pooled connection for its whole run and sends raw
    statements on it: through the pool, every statement was followed by asyncpg's reset
    of the connection on release (`RESET ALL; UNLISTEN *; CLOSE ALL; ...`), a second
    round trip per email, and Tortoise's query wrapper cost as much CPU again (profiled:
    the two were most of the worker's time per email besides SMTP). Holding is capped at
    the pool's size less two, so lease renewals, the relay, other jobs and a batch's own
    clean-up statements (through the ORM) always find a connection: with every
    connection held, those would wait for each other forever. A batch over the cap (and
    SQLite, whose one connection the worker's other tasks need between emails) uses the
    ORM's connection per statement.
    """

    held: ClassVar[dict[int, int]] = {}  # connections held by batches, per pool

    def __init__(self) -> None:
        self.client: Any = Tortoise.get_connection("default")
        self.postgres = self.client.capabilities.dialect == "postgres"
        self.connection: Any = None  # the held asyncpg connection
        self._holder: Any = None

    async def __aenter__(self) -> _Statements:
        if self.postgres and self._may_hold():
            try:
                self._holder = self.client.acquire_connection()
                self.connection = await self._holder.__aenter__()
            except BaseException:
                self._holder = self.connection = None
                self.held[id(self.client)] -= 1
                raise
        return self

    def _may_hold(self) -> bool:
        """Counts this batch in, if the pool has more than two connections left."""
        pool = id(self.client)
        held = self.held.get(pool, 0)
        if held >= int(getattr(self.client, "pool_maxsize", 0) or 0) - 2:
            return False
        self.held[pool] = held + 1
        return True

    async def __aexit__(self, *exc: object) -> None:
        if self._holder is not None:
            holder, self._holder, self.connection = self._holder, None, None
            try:
                await holder.__aexit__(None, None, None)
            finally:
                self.held[id(self.client)] -= 1

    async def keys(self, sql: str, values: list[Any]) -> list[str]:
        """Runs an UPDATE/INSERT ... RETURNING key; returns the keys it changed."""
        if self.connection is not None:
            rows = await self.connection.fetch(sql, *values)
        else:
            rows = await self.client.execute_query_dict(sql, values)
        return [str(r["key"]) for r in rows]

    async def rows(self, sql: str, values: list[Any]) -> list[Any]:
        if self.connection is not None:
            return list(await self.connection.fetch(sql, *values))
        return list(await self.client.execute_query_dict(sql, values))


class _OneAtATime:
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


class _Batch:
    def __init__(self, mailer: Mailer, run: Run) -> None:
        self.mailer = mailer
        self.run_ = run
        self.durable = mailer.settings.SENT_EMAIL_DURABLE_COMMIT
        self.report = BatchReport()
        self.smtp: _OneAtATime | Pipeline | None = None  # the batch's connection
        self.sending: Email | None = None  # the one row of this batch in SENDING
        self.db: _Statements
        self.claimed: set[str] = set()  # this run's keys still CLAIMED (not yet handed over)
        self._statements: dict[str, str] = {}

    async def run(self, emails: list[Email]) -> None:
        if not emails:
            return
        async with _Statements() as self.db:
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
                doubted = await SentEmail.filter(key=self.sending.key, claimed_by=self.run_.token,
                                                 status=S.SENDING).update(status=S.IN_DOUBT)  # fmt: skip
                if doubted:
                    metrics.email_in_doubt(doubted)
                log.warning("email %s is in doubt: cancelled during its hand-off",
                            self.sending.key)  # fmt: skip
                self.sending = None
            raise
        finally:
            await self._release_unsent()
            await self._close()

    async def _reserve(self, emails: list[Email]) -> list[Email]:
        """Claims every key no run holds yet (CLAIMED, this run's token); sorts the rest
        into skipped (SENT or IN_DOUBT already) and busy (another run holds it)."""
        token, outbox_id = self.run_.token, self.run_.outbox_id
        if self.db.postgres:
            claimed = set(await self.db.keys(RESERVE_PG, [
                [e.key for e in emails], [e.to for e in emails],
                [e.subject[:255] for e in emails], datetime.now(UTC), outbox_id, token,
            ]))  # fmt: skip
            others = [e.key for e in emails if e.key not in claimed]
            rows: dict[str, tuple[Any, Any]] = {str(r["key"]): (r["status"], None)
                    for r in (await self.db.rows(STATUS_PG, [others]) if others else [])}  # fmt: skip
            rows.update((key, (S.CLAIMED.value, token)) for key in claimed)
        else:
            rows = await self._reserve_orm(emails)
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

    async def _reserve_orm(self, emails: list[Email]) -> dict[str, tuple[Any, Any]]:
        token, outbox_id = self.run_.token, self.run_.outbox_id
        await SentEmail.bulk_create(
            [SentEmail(key=e.key, recipient=e.to, subject=e.subject[:255], status=S.CLAIMED,
                       outbox_id=outbox_id, claimed_by=token) for e in emails],
            batch_size=CHUNK, ignore_conflicts=True,
        )  # fmt: skip
        rows: dict[str, tuple[Any, Any]] = {}
        for i in range(0, len(emails), CHUNK):
            keys = [e.key for e in emails[i : i + CHUNK]]
            for key, status, owner in await SentEmail.filter(key__in=keys).values_list(
                "key", "status", "claimed_by"
            ):
                rows[key] = (status, owner)
        return rows

    async def _advance(self, email: Email, message: str) -> bool:
        """Previous email SENT, this one SENDING (with its message); False if not ours."""
        token, previous = self.run_.token, self.sending
        if previous is None:
            sql = self._sql(ADVANCE_FIRST)
            values: list[Any] = [message, email.key, token]
        else:
            sql = self._sql(ADVANCE)
            values = [email.key, email.key, message, token, email.key, previous.key]
        rows = await self.db.keys(sql, values)
        self.claimed.discard(email.key)  # SENDING now, or not ours
        if previous is not None:
            self.report.sent.append(previous)
            metrics.email_sent()
            self.sending = None
        if email.key not in rows:
            return False
        self.sending = email
        return True

    def _sql(self, template: str) -> str:
        sql = self._statements.get(template)
        if sql is None:
            sql = _advance_sql(template, self.durable, self.db.postgres)
            self._statements[template] = sql
        return sql

    async def _connection(self) -> _OneAtATime | Pipeline:
        """The batch's connection, opened on first use; pipelined if the server offers."""
        if self.smtp is not None:
            return self.smtp
        client = await self.mailer._connect()
        sender = self.mailer.sender
        self.smtp = _OneAtATime(client, sender)
        if self.mailer.settings.SMTP_PIPELINING:
            try:
                if client.is_ehlo_or_helo_needed:
                    with contextlib.suppress(aiosmtplib.SMTPHeloError):  # HELO: no extensions
                        await client.ehlo()
                if offers_pipelining(client):
                    self.smtp = Pipeline(client, self.mailer.timeout, sender)
                    self.mailer.connections_pipelined += 1
            except (aiosmtplib.SMTPException, OSError) as exc:
                self.smtp = None
                client.close()
                raise TransientMailError(f"{type(exc).__name__}: {exc}") from exc
        return self.smtp

    async def _send(self, email: Email) -> None:
        data = self.mailer.render(email)
        smtp = await self._connection()
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
            error = _classify(exc)
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
        await (
            SentEmail.filter(key=email.key, claimed_by=self.run_.token)
            .exclude(status=S.SENT)
            .delete()
        )

    async def _confirm_last(self) -> None:
        if self.sending is None:
            return
        email, self.sending = self.sending, None
        await self.db.keys(self._sql(CONFIRM), [email.key, self.run_.token])
        self.report.sent.append(email)
        metrics.email_sent()
        log.info("sent %d email(s), last %s", len(self.report.sent), email.key)

    async def _release_unsent(self) -> None:
        """Reservations never handed over go back, so a later run sends them. By key
        (the primary key): `claimed_by` has no index, and a batch that sent everything
        has nothing to release and sends no statement."""
        keys, self.claimed = sorted(self.claimed), set()
        for i in range(0, len(keys), CHUNK):
            await SentEmail.filter(
                key__in=keys[i : i + CHUNK], claimed_by=self.run_.token, status=S.CLAIMED
            ).delete()

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


async def release_previous_runs(outbox_id: uuid.UUID, token: str) -> int:
    """Called by a run that has just taken a job over: what earlier runs of the job left
    half-done. Their SENDING row (one per dead batch) becomes IN_DOUBT; their CLAIMED
    rows, never handed over, are released for this run to send. Returns how many became
    IN_DOUBT."""
    previous = SentEmail.filter(outbox_id=outbox_id).exclude(claimed_by=token)
    in_doubt = await previous.filter(status=S.SENDING).update(status=S.IN_DOUBT)
    await SentEmail.filter(outbox_id=outbox_id, status=S.CLAIMED).exclude(claimed_by=token).delete()
    if in_doubt:
        metrics.email_in_doubt(in_doubt)
        log.warning("job %s: %d email(s) in doubt after a crashed run", outbox_id, in_doubt)
    return in_doubt
