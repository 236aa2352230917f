"""The dashboard's session hand-off (`/app/...#session=<token>`, from the invitation page)
never silently replaces the session a browser is logged in with (issue 19, login CSRF)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.browser.conftest import DIST, PASSWORD, LiveServer

pytestmark = pytest.mark.browser

SIGN_UP = """
mutation($email: String!, $password: String!) {
  signUp(email: $email, password: $password) { token errors { code } } }"""


def _token(server: LiveServer, name: str) -> str:
    email = f"{name}-{uuid.uuid4().hex[:6]}@collab.example"
    data = server.gql(SIGN_UP, email=email, password=PASSWORD)["signUp"]
    assert data["errors"] == []
    return str(data["token"])


def _stored(page: Any) -> str | None:
    return page.evaluate("() => localStorage.getItem('collab.session')")  # type: ignore[no-any-return]


def test_a_handed_over_session_never_replaces_the_one_logged_in(
    live_server: LiveServer, page: Any
) -> None:
    if not (DIST / "index.html").is_file():
        pytest.skip("web/dist is not built (./scripts/build-dashboard.sh)")
    victim, attacker = _token(live_server, "victim"), _token(live_server, "attacker")

    # A browser with no session takes the hand-off, and the token leaves the address bar.
    page.goto(f"{live_server.url}/app/shared-with-me#session={victim}")
    page.wait_for_load_state("networkidle")
    assert _stored(page) == victim
    assert "session=" not in page.url

    # Logged in as the victim, a crafted link (followed from elsewhere) with the attacker's
    # session changes nothing.
    page.goto("about:blank")
    page.goto(f"{live_server.url}/app/shared-with-me#session={attacker}")
    page.wait_for_load_state("networkidle")
    assert _stored(page) == victim
    assert "session=" not in page.url
