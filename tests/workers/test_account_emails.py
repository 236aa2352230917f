"""Account care end to end: the emailed links (real worker, real SMTP) and their pages."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from domain.clock import utcnow
from models import AccountToken, OutboxJob, OutboxStatus
from tests.utils.accounts import PASSWORD, sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.members import active_member, invite
from tests.workers.conftest import Mailbox, parts

VERIFY_LINK = re.compile(r"https?://\S+/account/verify-email/[A-Za-z0-9_\-]+")
RESET_LINK = re.compile(r"https?://\S+/account/reset-password/[A-Za-z0-9_\-]+")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ME = "{ me { email emailVerified } }"
INVITE = """
mutation($email: String!) { inviteMember(input: { email: $email }) {
  member { id } errors { code message } } }"""
RESEND = "mutation { resendVerification { account { emailVerified } errors { code message } } }"
REQUEST_RESET = """
mutation($email: String!) { requestPasswordReset(email: $email) { message errors { code } } }"""
LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token errors { code } } }"""
NEW_PASSWORD = "a brand new password"


def _path(link: str) -> str:
    return link.replace("http://collab.test", "")


async def _submit(http: httpx.AsyncClient, link: str, **fields: str) -> httpx.Response:
    """Open the page, then post its form, as a browser would."""
    page = await http.get(_path(link))
    assert page.status_code == 200, page.text
    (csrf,) = CSRF.findall(page.text)
    return await http.post(_path(link), data={"csrf_token": csrf, **fields})


async def test_sign_up_emails_a_verification_link_that_unlocks_inviting(
    gql: GraphQLClient, http: httpx.AsyncClient, app: object, mailbox: Mailbox, start_worker
) -> None:
    async with start_worker():
        owner = await sign_up(gql, "Vera", verified=False)
        [first] = await mailbox.wait_for(1)
        assert first["To"] == owner.email and "Confirm your email" in first["Subject"]
        text, html = parts(first)
        [old_link] = VERIFY_LINK.findall(text)
        assert f'href="{old_link}"' in html

        # Until verified: the service works, but inviting is refused with a clear message.
        assert (await owner.gql(ME)).data["me"] == {"email": owner.email, "emailVerified": False}
        p = (await owner.gql(INVITE, email="friend@collab.example")).payload("inviteMember")
        assert p["member"] is None and p["errors"][0]["code"] == "INVALID_STATE"
        assert "Verify your email address before inviting" in p["errors"][0]["message"]

        # A new link replaces the old one.
        r = await owner.gql(RESEND)
        assert r.ok("resendVerification")["account"] == {"emailVerified": False}
        await mailbox.wait_for(2)
    [link] = VERIFY_LINK.findall(parts(mailbox.messages[1])[0])
    assert link != old_link
    assert (await http.get(_path(old_link))).status_code == 404

    # Following the link: a page with a button (a mail scanner's GET spends nothing).
    page = await http.get(_path(link))
    assert page.status_code == 200 and owner.email in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert (await owner.gql(ME)).data["me"]["emailVerified"] is False
    done = await _submit(http, link)
    assert done.status_code == 200 and "Your email address is confirmed" in done.text
    assert (await owner.gql(ME)).data["me"]["emailVerified"] is True
    assert (await http.get(_path(link))).status_code == 404  # single use

    (await owner.gql(INVITE, email="friend@collab.example")).ok("inviteMember")
    r = await owner.gql(RESEND)
    assert r.payload("resendVerification")["errors"][0]["code"] == "INVALID_STATE"


async def test_password_reset_by_email_sets_the_password_and_ends_sessions(
    gql: GraphQLClient, http: httpx.AsyncClient, app: object, mailbox: Mailbox, start_worker
) -> None:
    user = await sign_up(gql, "Rita")
    async with start_worker():
        known = (await gql(REQUEST_RESET, email=user.email.upper())).ok("requestPasswordReset")
        unknown = (await gql(REQUEST_RESET, email="nobody-here@collab.example")).ok(
            "requestPasswordReset"
        )
        assert known == unknown  # the same answer either way
        assert "60 minutes" in known["message"]
        [message] = await mailbox.wait_for(1)
    assert len(mailbox.messages) == 1 and message["To"] == user.email
    assert message["Subject"] == "Reset your collab-gateway password"
    text, html = parts(message)
    [link] = RESET_LINK.findall(text)
    assert f'href="{link}"' in html and "expires on" in text

    # The token is stored hashed; the raw one left the outbox with the email.
    [row] = [
        job for job in await OutboxJob.filter(job="password_reset_email")
        if job.payload.get("account_id") == user.id
    ]  # fmt: skip
    assert row.status is OutboxStatus.DONE and "token" not in row.payload
    token = link.rsplit("/", 1)[1]
    assert not await AccountToken.exists(token_hash=token)

    # A too-short password keeps the form; a good one sets it and logs out everywhere.
    short = await _submit(http, link, password="short")
    assert short.status_code == 422 and "at least 8 characters" in short.text
    done = await _submit(http, link, password=NEW_PASSWORD)
    assert done.status_code == 200 and "Your password was changed" in done.text
    r = await user.gql(ME)
    assert r.codes() == ["UNAUTHENTICATED"]
    assert "invalid or has expired" in r.errors[0]["message"]
    assert (await gql(LOG_IN, email=user.email, password=PASSWORD)).payload("logIn")[
        "token"
    ] is None
    assert (await gql(LOG_IN, email=user.email, password=NEW_PASSWORD)).ok("logIn")["token"]
    assert (await http.get(_path(link))).status_code == 404  # single use


async def test_password_reset_link_expires(
    gql: GraphQLClient, http: httpx.AsyncClient, app: object
) -> None:
    user = await sign_up(gql, "Late")
    (await gql(REQUEST_RESET, email=user.email)).ok("requestPasswordReset")
    token = (await OutboxJob.get(job="password_reset_email")).payload["token"]
    row = await AccountToken.get(account_id=user.id, purpose="PASSWORD_RESET")
    assert row.expires_at - utcnow() <= timedelta(minutes=60)
    await AccountToken.filter(id=row.id).update(expires_at=utcnow() - timedelta(seconds=1))
    page = await http.get(f"/account/reset-password/{token}")
    assert page.status_code == 410 and "expired" in page.text
    assert (await gql(LOG_IN, email=user.email, password=PASSWORD)).ok("logIn")["token"]


async def test_collaborators_are_emailed_when_suspended_reactivated_removed(
    gql: GraphQLClient, mailbox: Mailbox, start_worker
) -> None:
    owner = await sign_up(gql, "Olivia Owner")
    bob = await sign_up(gql, "bob")
    member = await active_member(owner, bob)
    pending = await invite(owner, "pending-person@collab.example")
    ops = [("suspendMember", "suspended your access"),
           ("activateMember", "re-activated your access"),
           ("removeMember", "removed you as a collaborator")]  # fmt: skip
    async with start_worker():
        for op, _ in ops:
            r = await owner.gql(f"mutation($id: ID!) {{ {op}(id: $id) {{ errors {{ code }} }} }}",
                                id=member)  # fmt: skip
            assert r.ok(op)
        # A pending invitee is no collaborator yet: removing it emails nobody.
        r = await owner.gql("mutation($id: ID!) { removeMember(id: $id) { errors { code } } }",
                            id=pending["id"])  # fmt: skip
        assert r.ok("removeMember")
        await mailbox.wait_for(3)
    to_bob = [m for m in mailbox.messages if m["To"] == bob.email]
    assert len(to_bob) == 3 and len(mailbox.to("pending-person@collab.example")) <= 1
    for message, (_, words) in zip(to_bob, ops, strict=True):
        assert "Olivia Owner" in message["Subject"] and words in message["Subject"]
        assert words in parts(message)[0] and owner.email in parts(message)[0]

    # Idempotent: the same job run again sends nothing more.
    rows = await OutboxJob.filter(job="member_status_email")
    assert len(rows) == 3
    await OutboxJob.filter(id__in=[r.id for r in rows]).update(status=OutboxStatus.PENDING)
    async with start_worker():
        pass
    assert len([m for m in mailbox.messages if m["To"] == bob.email]) == 3
