"""The page behind the emailed invitation link, over HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx

from domain.clock import utcnow
from models import Account, AccountKind, InvitationToken, Member, MemberStatus, OutboxJob
from tests.pages.forms import forms_of, open_invitation
from tests.utils.accounts import PASSWORD, User, sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.members import VIEWER, invitation_token, invite

LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token account { kind } errors { code } }
}"""
MEMBERS = "query { members { email status account { id } } }"
INVITATION_BY_TOKEN = "query($t: String!) { invitationByToken(token: $t) { email } }"

NEW_PASSWORD = "a fine new password"
OWNER_EMAIL = "olivia-owner@collab.example"


async def _invited(gql: GraphQLClient, email: str = "", **fields: Any) -> tuple[User, str]:
    owner = await sign_up(gql, "Olivia Owner", email=OWNER_EMAIL)
    member = await invite(owner, email or "invitee-page@collab.example", **fields)
    return owner, await invitation_token(member["id"])


async def _status(owner: User) -> str:
    r = await owner.gql(MEMBERS)
    (member,) = r.data["members"]
    return str(member["status"])


async def _dashboard_session(http: httpx.AsyncClient, html: str) -> str:
    """The session the accepted page's dashboard link hands over: a one-time code in the
    fragment, redeemed by this browser (its hand-off cookie) as the dashboard does."""
    match = re.search(r'href="http://collab\.test/app/shared-with-me#handoff=([\w-]+)"', html)
    assert match, "the accepted page links into the dashboard with a hand-off code"
    r = await http.post("/app/handoff", json={"code": match.group(1)})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def _readable(r: httpx.Response) -> None:
    """A page a person can read: HTML, not a traceback or JSON."""
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>" in r.text
    assert "Traceback" not in r.text


async def test_page_names_owner_and_invited_email_and_offers_sign_up(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    _, token = await _invited(gql)
    r = await http.get(f"/invitations/{token}")
    assert r.status_code == 200
    _readable(r)
    assert "Olivia Owner" in r.text
    assert "invitee-page@collab.example" in r.text
    assert "Create your account to accept" in r.text
    assert 'autocomplete="new-password"' in r.text
    assert "Reject invitation" in r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    # The token is in the URL: it must not leak through the Referer header or caches.
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"


async def test_page_lists_what_is_shared(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    _, token = await _invited(gql, shares=[{"root": True, "roleIds": [VIEWER]}])
    r = await http.get(f"/invitations/{token}")
    assert "All environments" in r.text
    assert "Viewer" in r.text


async def test_unknown_token_is_a_readable_404(http: httpx.AsyncClient) -> None:
    r = await http.get("/invitations/not-a-real-token")
    assert r.status_code == 404
    _readable(r)
    assert "not valid" in r.text


async def test_expired_token_is_a_readable_410(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    _, token = await _invited(gql)
    await InvitationToken.all().update(expires_at=utcnow() - timedelta(minutes=1))
    r = await http.get(f"/invitations/{token}")
    assert r.status_code == 410
    _readable(r)
    assert "expired" in r.text


async def test_set_password_creates_collaborator_and_accepts(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    owner, token = await _invited(gql)
    forms = await open_invitation(http, token)
    r = await http.post(forms.accept_url, data={
        "csrf_token": forms.accept_csrf, "password": NEW_PASSWORD, "display_name": "Ivy",
    })  # fmt: skip
    assert r.status_code == 200, r.text
    _readable(r)
    assert "You now collaborate with Olivia Owner" in r.text
    assert await _status(owner) == "ACTIVE"
    login = (await gql(LOG_IN, email="invitee-page@collab.example", password=NEW_PASSWORD)).ok(
        "logIn"
    )
    assert login["account"]["kind"] == "COLLABORATOR"
    # The owner's decision email waits in the outbox (sent after commit by the worker).
    assert await OutboxJob.filter(job="decision_email").count() == 1
    # "Open the dashboard" logs the new collaborator in (a one-time code in the fragment).
    session = await _dashboard_session(http, r.text)
    me = await gql.as_(session)("query { me { email kind } }")
    assert me.data["me"] == {"email": "invitee-page@collab.example", "kind": "COLLABORATOR"}
    # The link is single use.
    again = await http.get(f"/invitations/{token}")
    assert again.status_code == 404


async def test_short_password_shows_the_form_again_and_changes_nothing(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    owner, token = await _invited(gql)
    forms = await open_invitation(http, token)
    r = await http.post(forms.accept_url, data={
        "csrf_token": forms.accept_csrf, "password": "short", "display_name": "Ivy",
    })  # fmt: skip
    assert r.status_code == 422
    assert 'role="alert"' in r.text and "at least 8 characters" in r.text
    assert 'value="Ivy"' in r.text  # what the person typed is kept
    assert await _status(owner) == "PENDING"
    assert not await Account.exists(email="invitee-page@collab.example")


async def test_existing_account_logs_in_to_accept(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    invitee = await sign_up(gql, "Ivy", email="ivy-existing@collab.example")
    owner, token = await _invited(gql, invitee.email)
    forms = await open_invitation(http, token)
    page = await http.get(f"/invitations/{token}")
    assert "Log in to accept" in page.text
    assert 'autocomplete="current-password"' in page.text

    wrong = await http.post(
        forms.accept_url, data={"csrf_token": forms.accept_csrf, "password": "wrong password"}
    )
    assert wrong.status_code == 401
    _readable(wrong)
    assert "password is not correct" in wrong.text
    assert await _status(owner) == "PENDING"

    right = await http.post(
        forms.accept_url, data={"csrf_token": forms.accept_csrf, "password": PASSWORD}
    )
    assert right.status_code == 200, right.text
    assert "You now collaborate with Olivia Owner" in right.text
    assert await _status(owner) == "ACTIVE"
    account = await Account.get(email=invitee.email)
    assert account.kind is AccountKind.TRIAL  # an existing account keeps its kind
    me = await gql.as_(await _dashboard_session(http, right.text))("query { me { email } }")
    assert me.data["me"] == {"email": invitee.email}


async def test_reject_needs_only_the_link(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    owner, token = await _invited(gql)
    forms = await open_invitation(http, token)
    r = await http.post(forms.reject_url, data={"csrf_token": forms.reject_csrf})
    assert r.status_code == 200, r.text
    assert "You rejected the invitation from Olivia Owner" in r.text
    assert await _status(owner) == "REJECTED"
    assert not await Account.exists(email="invitee-page@collab.example")
    assert (await http.get(f"/invitations/{token}")).status_code == 404


async def test_missing_or_wrong_csrf_is_403_and_changes_nothing(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    owner, token = await _invited(gql)
    forms = await open_invitation(http, token)
    attempts = [
        {"password": NEW_PASSWORD},  # no token at all
        {"csrf_token": "forged", "password": NEW_PASSWORD},
        {"csrf_token": forms.reject_csrf, "password": NEW_PASSWORD},  # another form's token
    ]
    for data in attempts:
        r = await http.post(forms.accept_url, data=data)
        assert r.status_code == 403, data
        _readable(r)
    # A right token without the cookie it was signed for (a cross-site POST) is refused too.
    http.cookies.clear()
    r = await http.post(forms.reject_url, data={"csrf_token": forms.reject_csrf})
    assert r.status_code == 403
    assert await _status(owner) == "PENDING"
    assert not await Account.exists(email="invitee-page@collab.example")


async def test_token_for_another_invitation_cannot_reuse_a_form_signature(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    owner = await sign_up(gql, "Olivia Owner", email=OWNER_EMAIL)
    first = await invite(owner, "first@collab.example")
    second = await invite(owner, "second@collab.example")
    forms = await open_invitation(http, await invitation_token(first["id"]))
    other = await invitation_token(second["id"])
    r = await http.post(f"/invitations/{other}/reject", data={"csrf_token": forms.reject_csrf})
    assert r.status_code == 403
    assert await Member.filter(status=MemberStatus.PENDING).count() == 2


async def test_token_guesses_are_rate_limited_per_address(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    _, token = await _invited(gql)
    for i in range(30):
        r = await http.get(f"/invitations/guess-{i}")
        assert r.status_code == 404
    r = await http.get(f"/invitations/{token}")  # even the right token waits now
    assert r.status_code == 429
    _readable(r)
    assert int(r.headers["retry-after"]) > 0
    # The page and the API count the same guesses.
    api = await gql(INVITATION_BY_TOKEN, t=token)
    assert api.codes() == ["RATE_LIMITED"]
    assert api.errors[0]["extensions"]["retryAfter"] > 0


async def test_answered_invitation_cannot_be_answered_again_by_a_stale_form(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    owner, token = await _invited(gql)
    forms = await open_invitation(http, token)
    assert (
        await http.post(forms.reject_url, data={"csrf_token": forms.reject_csrf})
    ).status_code == 200
    r = await http.post(forms.accept_url, data={
        "csrf_token": forms.accept_csrf, "password": NEW_PASSWORD,
    })  # fmt: skip
    assert r.status_code == 404
    _readable(r)
    assert await _status(owner) == "REJECTED"
    assert not await Account.exists(email="invitee-page@collab.example")


async def test_stylesheet_is_served(http: httpx.AsyncClient) -> None:
    r = await http.get("/static/pages.css")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/css")
    assert forms_of  # the helper module imports cleanly
