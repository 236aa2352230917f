"""The invitation page hands a session to the dashboard only in the browser that accepted,
once (issue 19, login CSRF): a crafted link never logs anybody into another account."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DIST, PASSWORD, LiveServer, screenshot
from tests.browser.test_invitation_browser import _invite, _owner

pytestmark = pytest.mark.browser

SIGN_UP = """
mutation($email: String!, $password: String!) {
  signUp(email: $email, password: $password) { token errors { code } } }"""


@pytest.fixture(autouse=True)
def _built() -> None:
    if not (DIST / "index.html").is_file():
        pytest.skip("web/dist is not built (./scripts/build-dashboard.sh)")


def _token(server: LiveServer, name: str) -> str:
    email = f"{name}-{uuid.uuid4().hex[:6]}@collab.example"
    data = server.gql(SIGN_UP, email=email, password=PASSWORD)["signUp"]
    assert data["errors"] == []
    return str(data["token"])


def _stored(page: Any) -> str | None:
    return page.evaluate("() => localStorage.getItem('collab.session')")  # type: ignore[no-any-return]


def _accept(server: LiveServer, page: Any, name: str) -> tuple[str, str]:
    """`page` accepts a new invitation as a new person: their email and the dashboard link."""
    email = f"{name}-{uuid.uuid4().hex[:6]}@collab.example"
    member_id = _invite(server, _owner(server), email)
    page.goto(f"{server.url}/invitations/{server.invitation_token(member_id)}")
    page.get_by_label("Password").fill("a fine new password")
    page.get_by_role("button", name="Create account and accept").click()
    link = page.get_by_role("link", name="Open the dashboard")
    href = link.get_attribute("href")
    assert "#handoff=" in href and "#session=" not in href
    return email, str(href)


def _log_in_form(page: Any, says: str) -> None:
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(says)
    expect(page.get_by_role("alert")).to_contain_text("Log in with your email and password")
    assert _stored(page) is None
    assert "handoff=" not in page.url


def test_the_invitation_lands_logged_in_and_its_link_works_once(
    live_server: LiveServer, page: Any
) -> None:
    email, href = _accept(live_server, page, "ivy")
    page.get_by_role("link", name="Open the dashboard").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator(".who")).to_have_attribute("title", email)
    assert _stored(page) is not None
    assert "handoff=" not in page.url  # the code left the address bar

    # Logged out, the same link (from the history, say) is spent.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto("about:blank")  # a new load, as from the accepted page or another tab
    page.goto(href)
    _log_in_form(page, "already been used or has expired")
    screenshot(page, "handoff-1-spent-link")


def test_a_crafted_link_does_not_log_another_browser_in(
    live_server: LiveServer, browser: Any, page: Any
) -> None:
    attacker = browser.new_context()
    try:
        # The attacker accepts their own invitation but keeps the link instead of opening it.
        _, href = _accept(live_server, attacker.new_page(), "mallory")
    finally:
        attacker.close()
    # The victim's fresh browser follows the crafted link: no session, a plain message.
    page.goto(href)
    _log_in_form(page, "belongs to another browser")
    screenshot(page, "handoff-2-other-browser")
    # A raw session token in the fragment is never adopted either.
    page.goto("about:blank")
    page.goto(f"{live_server.url}/app/shared-with-me#session={_token(live_server, 'mallory')}")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert _stored(page) is None
    assert "session=" not in page.url


def test_a_logged_in_browser_keeps_its_session(
    live_server: LiveServer, browser: Any, page: Any
) -> None:
    victim = _token(live_server, "victim")
    page.goto(f"{live_server.url}/app/login")
    page.evaluate("(t) => localStorage.setItem('collab.session', t)", victim)
    attacker = browser.new_context()
    try:
        _, href = _accept(live_server, attacker.new_page(), "mallory")
    finally:
        attacker.close()
    for link in (href, f"{live_server.url}/app/shared-with-me#session={_token(live_server, 'x')}"):
        page.goto("about:blank")
        page.goto(link)
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        assert _stored(page) == victim
        assert "handoff=" not in page.url and "session=" not in page.url
