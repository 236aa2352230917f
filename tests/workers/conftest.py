"""A real SMTP server (aiosmtpd on loopback) and a real arq worker, for the job tests."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import time
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP as SMTPProtocol
from arq.worker import Worker

from infra.settings import Settings
from tests.utils.processes import free_port
from workers.runner import RetryPolicy
from workers.settings import close_worker, worker

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.2, backoff_max=0.5)
LINK = re.compile(r"https?://\S+/invitations/[A-Za-z0-9_\-]+")


class Mailbox:
    """An SMTP server that records what arrives and can be told to misbehave."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.connections = 0
        self.busy = 0  # answer 451 to this many DATA commands (transient)
        self.unknown: set[str] = set()  # answer 550 to these recipients (permanent)
        # Advertise PIPELINING (RFC 2920), as production relays do; aiosmtpd reads
        # pipelined commands in order but does not announce it by itself.
        self.pipelining = True
        self._server: asyncio.Server | None = None

    # -- aiosmtpd handler hooks ---------------------------------------------------
    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:  # fmt: skip
        session.host_name = hostname
        if not self.pipelining:
            return responses
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        if address.lower() in self.unknown:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.busy > 0:
            self.busy -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    # -- lifecycle -----------------------------------------------------------------
    def _protocol(self) -> SMTPProtocol:
        self.connections += 1
        return SMTPProtocol(self, hostname="mail.test", loop=asyncio.get_running_loop())

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None

    # -- reading ---------------------------------------------------------------------
    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def subjects(self, address: str | None = None) -> list[str]:
        found = self.to(address) if address else self.messages
        return sorted(str(m["Subject"]) for m in found)

    async def wait_for(self, count: int, within: float = 5.0) -> list[EmailMessage]:
        await eventually(lambda: len(self.messages) >= count, within)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} emails arrived"
        return self.messages


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "both a text and an HTML part"
    # SMTP carries CRLF line ends; compare with what was written.
    text_body = str(text.get_content()).replace("\r\n", "\n")
    return text_body, str(html.get_content())


@contextlib.asynccontextmanager
async def serving(box: Mailbox, settings: Settings) -> AsyncIterator[tuple[Mailbox, Settings]]:
    """A mailbox of a test's own (one that misbehaves) and settings pointing at it."""
    await box.start()
    try:
        yield box, settings.model_copy(update={"SMTP_PORT": box.port})
    finally:
        await box.stop()


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    box = Mailbox()
    await box.start()
    yield box
    await box.stop()


@pytest.fixture
def worker_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return settings.model_copy(update={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": mailbox.port})


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, **overrides: Any) -> AsyncIterator[Worker]:
    """The real arq worker (relay and crons included) as a task of this event loop."""
    options: dict[str, Any] = {"retry_policy": FAST_RETRY, "poll_delay": 0.05,
                               "relay_interval": 0.1}  # fmt: skip
    options.update(overrides)
    arq_worker = worker(settings, **options)
    task = asyncio.create_task(arq_worker.async_run())
    try:
        yield arq_worker
        await settle()
    finally:
        if arq_worker.tasks:  # let jobs in flight finish rather than cancel them
            await asyncio.wait(list(arq_worker.tasks.values()), timeout=5)
        # A job its shutdown cancelled (a Redis call still waiting) is teardown, not a
        # test result (close_worker).
        await close_worker(arq_worker)
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def settle(within: float = 5.0) -> None:
    """Waits until every outbox row is finished or waiting for a retry after an error."""
    from models import OutboxJob, OutboxStatus

    async def caught_up() -> bool:
        return not await OutboxJob.exists(status=OutboxStatus.PENDING, last_error__isnull=True)

    await eventually(caught_up, within)


@pytest.fixture
def start_worker(worker_settings: Settings) -> Callable[..., Any]:
    def start(**overrides: Any) -> Any:
        return running_worker(worker_settings, **overrides)

    return start


async def eventually(check: Callable[[], Any], within: float = 5.0) -> Any:
    """Polls an async or sync check until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.05)


async def make_environment(owner_id: str, name: str, *, group: str | None = None) -> str:
    """An environment row (and a group placement) as createEnvironment would leave it."""
    import uuid as _uuid

    from models import Environment, EnvironmentStatus, GroupEnvironment

    env = await Environment.create(
        id=_uuid.uuid4(), owner_id=owner_id, created_by_id=owner_id, name=name,
        display_name=name.replace("-", " ").title(), status=EnvironmentStatus.RUNNING,
    )  # fmt: skip
    if group is not None:
        await GroupEnvironment.create(id=_uuid.uuid4(), group_id=group, environment_id=env.id)
    return str(env.id)


async def make_group(owner_id: str, name: str, parent: str | None = None) -> str:
    import uuid as _uuid

    from models import EnvironmentGroup

    group = await EnvironmentGroup.create(
        id=_uuid.uuid4(), owner_id=owner_id, name=name, parent_id=parent, parent_slot=parent or ""
    )
    return str(group.id)
