"""A real gateway process (uvicorn, SQLite file, real Redis) and Debian's headless Chromium.

Never `playwright install`: the browser is the system's /usr/bin/chromium. Without it the
browser tests skip on a developer machine and fail in CI (COLLAB_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.utils import databases, processes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
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
    db_path = directory / "collab-browser.db"
    database_url = f"sqlite://{db_path}"
    databases.migrate(database_url)
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    prefix = f"collab-browser:{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "PUBLIC_URL": url,
        "SECRET_KEY": "browser-test-secret",
        "PLATFORM_TOKEN": "browser-test-platform",
        "SMTP_PORT": "1",
    }
    log_path = directory / "server.log"
    with log_path.open("wb") as log:
        server = processes.start(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log)
    try:
        processes.wait_until_up(url, server, log_path)
        with httpx.Client(base_url=url, timeout=30) as api:
            yield LiveServer(url, db_path, api)
    finally:
        processes.stop([server])
        processes.forget_redis_prefix(redis_url, prefix)


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
