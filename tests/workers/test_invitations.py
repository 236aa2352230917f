"""Invitation and decision emails, sent by the real worker over real SMTP."""

from __future__ import annotations

from models import OutboxJob
from tests.utils.accounts import sign_up
from tests.utils.members import VIEWER, invite
from tests.workers.conftest import LINK, make_environment, make_group, parts

INVITATION_BY_TOKEN = """
query($token: String!) { invitationByToken(token: $token) { id email owner { displayName email } } }
"""
ACCEPT_BY_TOKEN = """
mutation($token: String) { acceptInvitation(token: $token) { member { id status } errors { code } } }
"""
REJECT_BY_TOKEN = """
mutation($token: String) { rejectInvitation(token: $token) { member { id status } errors { code } } }
"""
LEAVE = """
mutation($id: ID!) { leaveCollaboration(memberId: $id) { member { status } errors { code } } }
"""


async def test_invitation_email_names_owner_and_items_and_its_link_works(
    gql, http, app, mailbox, start_worker
):
    owner = await sign_up(gql, "Olivia Owner")
    group = await make_group(owner.id, "Production")
    env = await make_environment(owner.id, "shop-prod")
    invitee_email = "ivan-invitee@collab.example"
    async with start_worker():
        member = await invite(owner, invitee_email, shares=[
            {"environmentId": env, "roleIds": [VIEWER]},
            {"groupId": group, "roleIds": [VIEWER]},
        ])  # fmt: skip
        [message] = await mailbox.wait_for(1)

    assert message["To"] == invitee_email
    assert "Olivia Owner" in message["Subject"]
    text, html = parts(message)
    assert "Olivia Owner" in text and "shop-prod" in text and "group Production" in text
    assert "Viewer" in text
    [link] = LINK.findall(text)
    assert link.startswith("http://collab.test/invitations/")
    assert f'href="{link}"' in html and "shop-prod" in html

    # Following the link: the page (when mounted) and the API behind it know the token.
    token = link.rsplit("/", 1)[1]
    page = await http.get(link.replace("http://collab.test", ""))
    if page.status_code != 404:  # the invitation page is mounted
        assert page.status_code == 200 and invitee_email in page.text
    found = (await gql(INVITATION_BY_TOKEN, token=token)).data["invitationByToken"]
    assert found == {"id": member["id"], "email": invitee_email,
                     "owner": {"displayName": "Olivia Owner", "email": owner.email}}  # fmt: skip
    invitee = await sign_up(gql, "ivan", email=invitee_email)
    r = await invitee.gql(ACCEPT_BY_TOKEN, token=token)
    assert r.ok("acceptInvitation")["member"]["status"] == "ACTIVE"

    # The raw token left with the email; it is not kept in the outbox afterwards.
    row = await OutboxJob.get(job="invitation_email")
    assert row.status.value == "DONE" and "token" not in row.payload


async def test_owner_gets_accepted_rejected_and_left_emails(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Decider")
    alice = await sign_up(gql, "alice")
    bob = await sign_up(gql, "bob")
    async with start_worker():
        await invite(owner, alice.email)
        await invite(owner, bob.email)
        await mailbox.wait_for(2)
        tokens = {m["To"]: LINK.findall(parts(m)[0])[0].rsplit("/", 1)[1]
                  for m in mailbox.messages}  # fmt: skip
        accepted = await alice.gql(ACCEPT_BY_TOKEN, token=tokens[alice.email])
        member_id = accepted.ok("acceptInvitation")["member"]["id"]
        await bob.gql(REJECT_BY_TOKEN, token=tokens[bob.email])
        await alice.gql(LEAVE, id=member_id)
        await mailbox.wait_for(5)

    assert mailbox.subjects(owner.email) == sorted([
        f"{alice.email} accepted your invitation",
        f"{bob.email} rejected your invitation",
        f"{alice.email} left your collaboration",
    ])  # fmt: skip
    for message in mailbox.to(owner.email):
        text, html = parts(message)
        assert (alice.email in text or bob.email in text) and "<p>" in html


async def test_resent_invitation_mails_only_the_live_link(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Resender")
    member = await invite(owner, "late@collab.example")
    resend = """mutation($id: ID!) { resendInvitation(id: $id) { errors { code } } }"""
    assert (await owner.gql(resend, id=member["id"])).ok("resendInvitation")
    async with start_worker():
        await mailbox.wait_for(1)

    # The first job finds its token revoked by the re-send and sends nothing.
    assert await OutboxJob.filter(job="invitation_email", status="DONE").count() == 2
    [message] = mailbox.messages
    token = LINK.findall(parts(message)[0])[0].rsplit("/", 1)[1]
    assert (await gql(INVITATION_BY_TOKEN, token=token)).data["invitationByToken"]["id"] == member[
        "id"
    ]
    assert message["Subject"].startswith("Reminder:")
