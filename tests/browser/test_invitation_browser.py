"""A person follows the emailed invitation link in headless Chromium."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.browser.conftest import PASSWORD, LiveServer, screenshot
from tests.utils.members import VIEWER

pytestmark = pytest.mark.browser

SIGN_UP = """
mutation($email: String!, $password: String!, $displayName: String) {
  signUp(email: $email, password: $password, displayName: $displayName) {
    token account { id } errors { code }
  }
}"""
LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token account { email kind } errors { code } }
}"""
INVITE = """
mutation($email: String!, $shares: [ShareInput!]) {
  inviteMember(input: { email: $email, shares: $shares }) { member { id } errors { code } }
}"""
MEMBERS = "query { members { id email status } }"


def _owner(server: LiveServer) -> str:
    email = f"olivia-{uuid.uuid4().hex[:6]}@collab.example"
    data = server.gql(SIGN_UP, email=email, password=PASSWORD, displayName="Olivia Owner")
    assert data["signUp"]["errors"] == []
    server.verify(data["signUp"]["account"]["id"])  # owners verify before inviting
    return str(data["signUp"]["token"])


def _invite(
    server: LiveServer, owner_token: str, email: str, shares: list[dict[str, Any]] | None = None
) -> str:
    data = server.gql(INVITE, token=owner_token, email=email, shares=shares or [])
    assert data["inviteMember"]["errors"] == []
    return str(data["inviteMember"]["member"]["id"])


def _member_status(server: LiveServer, owner_token: str, member_id: str) -> str:
    members = server.gql(MEMBERS, token=owner_token)["members"]
    return next(str(m["status"]) for m in members if m["id"] == member_id)


def test_new_person_sets_a_password_and_accepts(live_server: LiveServer, page: Any) -> None:
    owner = _owner(live_server)
    email = f"ivy-{uuid.uuid4().hex[:6]}@collab.example"
    member_id = _invite(live_server, owner, email, [{"root": True, "roleIds": [VIEWER]}])
    link = f"{live_server.url}/invitations/{live_server.invitation_token(member_id)}"

    response = page.goto(link)
    assert response.status == 200
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "Olivia Owner invited you to collaborate"
    assert email in page.locator("main").inner_text()
    shared = page.get_by_role("region", name="What is shared with you").inner_text()
    assert "All environments" in shared and "Viewer" in shared
    screenshot(page, "invitation-1-sign-up-form")

    # Too short first: the form comes back with a message, and nothing is created.
    page.get_by_label("Your name").fill("Ivy Invitee")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account and accept").click()
    assert "at least 8 characters" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Your name").input_value() == "Ivy Invitee"
    screenshot(page, "invitation-2-short-password")
    assert _member_status(live_server, owner, member_id) == "PENDING"

    page.get_by_label("Password").fill("a fine new password")
    page.get_by_role("button", name="Create account and accept").click()
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "You now collaborate with Olivia Owner"
    href = page.get_by_role("link", name="Open the dashboard").get_attribute("href")
    assert href.startswith(f"{live_server.url}/app/shared-with-me#handoff=")
    screenshot(page, "invitation-3-accepted")

    assert _member_status(live_server, owner, member_id) == "ACTIVE"
    login = live_server.gql(LOG_IN, email=email, password="a fine new password")["logIn"]
    assert login["errors"] == []
    assert login["account"]["kind"] == "COLLABORATOR"

    # Back to the same link: it is spent.
    again = page.goto(link)
    assert again.status == 404
    assert "not valid" in page.get_by_role("heading", level=1).inner_text()
    screenshot(page, "invitation-4-spent-link")


def test_expired_link_shows_the_expiry_message(live_server: LiveServer, page: Any) -> None:
    owner = _owner(live_server)
    member_id = _invite(live_server, owner, f"late-{uuid.uuid4().hex[:6]}@collab.example")
    token = live_server.invitation_token(member_id)
    live_server.expire_invitation(member_id)

    response = page.goto(f"{live_server.url}/invitations/{token}")
    assert response.status == 410
    assert page.get_by_role("heading", level=1).inner_text() == "This invitation has expired"
    assert re.search(r"send a new invitation", page.locator("main").inner_text())
    screenshot(page, "invitation-5-expired")
    assert _member_status(live_server, owner, member_id) == "PENDING"


def test_existing_account_sees_log_in_and_rejects(live_server: LiveServer, page: Any) -> None:
    owner = _owner(live_server)
    email = f"known-{uuid.uuid4().hex[:6]}@collab.example"
    live_server.gql(SIGN_UP, email=email, password=PASSWORD, displayName="Known Person")
    member_id = _invite(live_server, owner, email)

    page.goto(f"{live_server.url}/invitations/{live_server.invitation_token(member_id)}")
    assert page.get_by_role("heading", name="Log in to accept").is_visible()
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Log in and accept").click()
    assert "password is not correct" in page.get_by_role("alert").inner_text()
    screenshot(page, "invitation-6-wrong-password")
    assert _member_status(live_server, owner, member_id) == "PENDING"

    page.get_by_role("button", name="Reject invitation").click()
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "You rejected the invitation from Olivia Owner"
    screenshot(page, "invitation-7-rejected")
    assert _member_status(live_server, owner, member_id) == "REJECTED"
