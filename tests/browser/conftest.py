"""A real gateway process (uvicorn, SQLite file, real Redis) and Debian's headless Chromium.

Never `playwright install`: the browser is the system's /usr/bin/chromium. Without it the
browser tests skip on a developer machine and fail in CI (COLLAB_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import REQUIRE_SERVICES, port_open
from tests.utils import databases, processes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
DIST = REPO / "web" / "dist"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery"
VERIFY_EMAIL = """
mutation($t: String!) { verifyEmail(token: $t) { account { emailVerified } errors { code } } }
"""


@dataclass
class LiveServer:
    """The running gateway, its database file, and an API client for setting up and checking."""

    url: str
    db_path: Path
    api: httpx.Client

    def gql(self, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = self.api.post("/graphql", json={"query": query, "variables": variables},
                          headers=headers)  # fmt: skip
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        assert not body.get("errors"), body
        return body["data"]

    def sql(self, statement: str, *params: object) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.db_path, timeout=10)) as conn, conn:
            return conn.execute(statement, params).fetchall()

    def invitation_token(self, member_id: str) -> str:
        """The raw token, read from the outbox row the invitation email is sent from."""
        rows = self.sql("SELECT payload FROM outbox_job WHERE job = 'invitation_email'")
        for (payload,) in rows:
            data = json.loads(payload)
            if data.get("member_id") == member_id:
                return str(data["token"])
        raise AssertionError(f"no invitation email for member {member_id}")

    def outbox_token(self, job: str, key: str, value: str) -> str:
        """The raw token of the newest `job` email whose payload has `key` = `value`."""
        rows = self.sql("SELECT payload FROM outbox_job WHERE job = ? ORDER BY created_at DESC",
                        job)  # fmt: skip
        for (payload,) in rows:
            data = json.loads(payload)
            if data.get(key) == value and data.get("token"):
                return str(data["token"])
        raise AssertionError(f"no {job} for {key}={value}")

    def verify(self, account_id: str) -> None:
        """Follows the account's emailed verification link through the API."""
        token = self.outbox_token("email_verification_email", "account_id", account_id)
        data = self.gql(VERIFY_EMAIL, t=token)["verifyEmail"]
        assert data["errors"] == [] and data["account"]["emailVerified"] is True

    def expire_invitation(self, member_id: str) -> None:
        """Moves the invitation's expiry into the past, in the format the ORM wrote it."""
        ((stored,),) = self.sql(
            "SELECT expires_at FROM invitation_token WHERE member_id = ?", member_id
        )
        past = datetime.fromisoformat(stored) - timedelta(days=30)
        value = past.isoformat(sep=" " if " " in stored else "T")
        self.sql("UPDATE invitation_token SET expires_at = ? WHERE member_id = ?", value, member_id)
        self.sql("UPDATE member SET invitation_expires_at = ? WHERE id = ?", value, member_id)


class Sink:
    """A real SMTP server (aiosmtpd, its own thread, loopback) that keeps what arrives."""

    def __init__(self) -> None:
        self.port = processes.free_port()
        self.messages: list[EmailMessage] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, to: str, subject: str, within: float = 10) -> EmailMessage:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for message in self.messages:
                if message["To"] == to and subject in str(message["Subject"]):
                    return message
            time.sleep(0.1)
        seen = [(m["To"], m["Subject"]) for m in self.messages]
        raise AssertionError(f"no email to {to} about {subject!r} within {within} s: {seen}")

    @staticmethod
    def text(message: EmailMessage) -> str:
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())


@dataclass
class Stack:
    """A gateway and a worker process sharing a database, Redis and a real SMTP sink."""

    server: LiveServer
    mail: Sink


def _gateway_env(directory: Path, redis_url: str, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite://{directory / 'collab-browser.db'}",
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"collab-browser:{uuid.uuid4().hex[:12]}",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "browser-test-secret",
        "PLATFORM_TOKEN": "browser-test-platform",
        "SMTP_PORT": "1",
        **extra,
    }


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        if REQUIRE_SERVICES:
            pytest.fail("/usr/bin/chromium is required (COLLAB_REQUIRE_SERVICES=1); "
                        "install Debian's chromium package")  # fmt: skip
        pytest.skip("/usr/bin/chromium not installed: browser tests skipped (CI requires it)")
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def live_server(
    chromium_path: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("browser")
    port = processes.free_port()
    env = _gateway_env(directory, redis_url, port)
    databases.migrate(env["DATABASE_URL"])
    url = env["PUBLIC_URL"]
    log_path = directory / "server.log"
    with log_path.open("wb") as log:
        server = processes.start(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log)
    try:
        processes.wait_until_up(url, server, log_path)
        with httpx.Client(base_url=url, timeout=30) as api:
            yield LiveServer(url, directory / "collab-browser.db", api)
    finally:
        processes.stop([server])
        processes.forget_redis_prefix(redis_url, env["REDIS_KEY_PREFIX"])


@contextlib.contextmanager
def running_stack(directory: Path, redis_url: str, **extra: str) -> Iterator[Stack]:
    """A gateway and a worker (with these extra settings) on one database, and an SMTP sink."""
    if not (DIST / "index.html").is_file():
        message = "web/dist is not built: ./scripts/test.sh builds it (Node.js 20+ and npm)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    # PostgreSQL, as in production: a gateway and a worker writing one SQLite file at once
    # can meet "database is locked" (see the report); SQLite only where PostgreSQL is absent.
    pg_name: str | None = None
    if port_open("127.0.0.1", 5432):
        pg_name, database_url = databases.create_postgres_database()
    elif REQUIRE_SERVICES:
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is required (COLLAB_REQUIRE_SERVICES=1)")
    else:
        database_url = f"sqlite://{directory / 'collab-browser.db'}"
    mail = Sink()
    mail.start()
    port = processes.free_port()
    env = _gateway_env(directory, redis_url, port, DATABASE_URL=database_url,
                       SMTP_HOST="127.0.0.1", SMTP_PORT=str(mail.port), **extra)  # fmt: skip
    databases.migrate(database_url)
    url = env["PUBLIC_URL"]
    with (directory / "server.log").open("wb") as log:
        server = processes.start(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log)
    with (directory / "worker.log").open("wb") as log:
        worker = processes.start(["worker"], env, log)
    try:
        processes.wait_until_up(url, server, directory / "server.log")
        with httpx.Client(base_url=url, timeout=30) as api:
            yield Stack(LiveServer(url, directory / "collab-browser.db", api), mail)
    finally:
        processes.stop([server, worker])
        mail.stop()
        processes.forget_redis_prefix(redis_url, env["REDIS_KEY_PREFIX"])
        if pg_name is not None:
            databases.drop_postgres_database(pg_name)


@pytest.fixture(scope="module")
def stack(
    chromium_path: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Gateway + worker + SMTP sink: emails really leave, links really work."""
    with running_stack(tmp_path_factory.mktemp("dashboard"), redis_url) as running:
        yield running


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (own cookies) per test."""
    context = browser.new_context(viewport={"width": 900, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def screenshot(page: Any, name: str) -> None:
    """Saved under tests/artifacts/ (git-ignored) to look at after a run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def screenshots(page: Any, name: str) -> None:
    """The screen at desktop and at phone size (390x844), then back to where it was."""
    was = page.viewport_size
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        screenshot(page, f"{name}-{label}")
    page.set_viewport_size(was)
