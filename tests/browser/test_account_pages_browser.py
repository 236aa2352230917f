"""A person follows the emailed password-reset and verification links in headless Chromium."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.browser.conftest import PASSWORD, LiveServer, screenshot

pytestmark = pytest.mark.browser

SIGN_UP = """
mutation($email: String!, $password: String!) {
  signUp(email: $email, password: $password, displayName: "Rosa") {
    token account { id } errors { code } } }"""
REQUEST_RESET = """
mutation($email: String!) { requestPasswordReset(email: $email) { message errors { code } } }"""
LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token errors { code } } }"""
ME = "query { me { email emailVerified } }"
INVITE = """
mutation($email: String!) { inviteMember(input: { email: $email }) {
  member { id } errors { code } } }"""
NEW_PASSWORD = "my brand new password"


def _account(server: LiveServer) -> tuple[str, str, str]:
    email = f"rosa-{uuid.uuid4().hex[:6]}@collab.example"
    data = server.gql(SIGN_UP, email=email, password=PASSWORD)["signUp"]
    assert data["errors"] == []
    return email, str(data["account"]["id"]), str(data["token"])


def test_forgotten_password_is_reset_from_the_emailed_link(
    live_server: LiveServer, page: Any
) -> None:
    email, account_id, old_session = _account(live_server)
    assert live_server.gql(REQUEST_RESET, email=email)["requestPasswordReset"]["errors"] == []
    token = live_server.outbox_token("password_reset_email", "account_id", account_id)
    link = f"{live_server.url}/account/reset-password/{token}"

    response = page.goto(link)
    assert response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert page.get_by_role("heading", level=1).inner_text() == "Choose a new password"
    assert email in page.locator("main").inner_text()
    screenshot(page, "reset-1-form")

    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Set the new password").click()
    assert "at least 8 characters" in page.get_by_role("alert").inner_text()
    screenshot(page, "reset-2-short")
    assert live_server.gql(LOG_IN, email=email, password=PASSWORD)["logIn"]["token"]

    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Your password was changed"
    screenshot(page, "reset-3-done")

    assert live_server.gql(LOG_IN, email=email, password=PASSWORD)["logIn"]["token"] is None
    assert live_server.gql(LOG_IN, email=email, password=NEW_PASSWORD)["logIn"]["token"]
    r = live_server.api.post("/graphql", json={"query": ME},
                             headers={"Authorization": f"Bearer {old_session}"})  # fmt: skip
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    again = page.goto(link)
    assert again.status == 404
    assert "not valid" in page.get_by_role("heading", level=1).inner_text()


def test_email_is_confirmed_from_the_emailed_link(live_server: LiveServer, page: Any) -> None:
    email, account_id, session = _account(live_server)
    blocked = live_server.gql(INVITE, token=session, email="pal@collab.example")["inviteMember"]
    assert blocked["errors"] == [{"code": "INVALID_STATE"}]
    token = live_server.outbox_token("email_verification_email", "account_id", account_id)
    link = f"{live_server.url}/account/verify-email/{token}"

    response = page.goto(link)
    assert response.status == 200 and response.headers["x-frame-options"] == "DENY"
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm your email address"
    assert live_server.gql(ME, token=session)["me"]["emailVerified"] is False  # GET spends nothing
    screenshot(page, "verify-1-confirm")
    page.get_by_role("button", name="Confirm my email address").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Your email address is confirmed"
    screenshot(page, "verify-2-done")

    assert live_server.gql(ME, token=session)["me"] == {"email": email, "emailVerified": True}
    invited = live_server.gql(INVITE, token=session, email="pal@collab.example")["inviteMember"]
    assert invited["errors"] == []
