"""Notification preferences (contract section 5): EACH, DIGEST and OFF for share emails,
through the API, the real worker and the real SMTP sink."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

from domain.clock import utcnow
from models import OutboxJob, OutboxStatus, SentEmail, SentEmailStatus, ShareNotice
from tests.conftest import PLATFORM_TOKEN
from tests.utils.accounts import User, sign_up
from tests.utils.members import ACCEPT_BY_ID, FULL_ACCESS, VIEWER, active_member, invite
from tests.workers.conftest import Mailbox, make_environment, make_group, parts, settle

SET_PREFERENCE = """
mutation($p: NotificationPreference!) {
  setNotificationPreference(preference: $p) {
    account { id notificationPreference } errors { code message field }
  }
}"""
ME = "{ me { id notificationPreference } }"
UPDATE_SHARES = """
mutation($id: ID!, $shares: [ShareInput!]) {
  updateMember(id: $id, input: { shares: $shares }) { member { id } errors { code } }
}"""
ADD_TO_GROUP = """
mutation($e: ID!, $g: ID!) {
  addEnvironmentToGroup(environmentId: $e, groupId: $g) { environment { id } errors { code } }
}"""
SUSPEND = "mutation($id: ID!) { suspendMember(id: $id) { member { status } errors { code } } }"
ACTIVATE = "mutation($id: ID!) { activateMember(id: $id) { member { status } errors { code } } }"
REPORT_LOAD = """
mutation($env: ID!, $message: String!) {
  reportLoadAlert(environmentId: $env, message: $message) { environment { id } errors { code } }
}"""


async def prefer(user: User, preference: str) -> None:
    r = await user.gql(SET_PREFERENCE, p=preference)
    account = r.ok("setNotificationPreference")["account"]
    assert account == {"id": user.id, "notificationPreference": preference}


def share_emails(mailbox: Mailbox, to: str) -> list[str]:
    """Subjects of the share emails (one by one or digests) that reached `to`, in order."""
    return [str(m["Subject"]) for m in mailbox.to(to) if " shared " in str(m["Subject"])]


DIGEST_SUBJECT = re.compile(r" shared \d+ environments? with you$")


def digests(mailbox: Mailbox, to: str) -> list[EmailMessage]:
    return [m for m in mailbox.to(to) if DIGEST_SUBJECT.search(str(m["Subject"]))]


# -- the mutation -------------------------------------------------------------------------


async def test_preference_defaults_to_each_and_is_the_accounts_own(gql):
    alice = await sign_up(gql, "Alice")
    bob = await sign_up(gql, "Bob")
    assert (await alice.gql(ME)).data["me"] == {"id": alice.id, "notificationPreference": "EACH"}
    for choice in ["DIGEST", "OFF", "OFF", "EACH", "DIGEST"]:  # the same twice: fine
        await prefer(alice, choice)
        assert (await alice.gql(ME)).data["me"]["notificationPreference"] == choice
    assert (await bob.gql(ME)).data["me"]["notificationPreference"] == "EACH"  # untouched


async def test_set_preference_needs_a_login_and_a_known_value(gql):
    alice = await sign_up(gql, "Alice")
    r = await gql.as_(None)(SET_PREFERENCE, p="OFF")
    assert r.payload("setNotificationPreference") == {
        "account": None, "errors": [{"code": "UNAUTHENTICATED", "message": "Log in first",
                                     "field": None}],
    }  # fmt: skip
    r = await gql.as_("not-a-session")(SET_PREFERENCE, p="OFF")
    [error] = r.payload("setNotificationPreference")["errors"]
    assert error["code"] == "UNAUTHENTICATED" and "log in again" in error["message"]
    r = await alice.gql(SET_PREFERENCE, p="WEEKLY")  # not in the enum: a request error
    assert r.codes() == ["VALIDATION"] and "setNotificationPreference" not in r.data
    platform = gql.as_(None)
    platform.headers["X-Platform-Token"] = PLATFORM_TOKEN  # the platform has no account
    r = await platform(SET_PREFERENCE, p="OFF")
    assert r.payload("setNotificationPreference")["errors"][0]["code"] == "UNAUTHENTICATED"
    assert (await alice.gql(ME)).data["me"]["notificationPreference"] == "EACH"


# -- EACH ---------------------------------------------------------------------------------


async def test_each_sends_one_email_per_newly_visible_environment(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Sharon")
    invitee = await sign_up(gql, "each")
    await prefer(invitee, "DIGEST")
    await prefer(invitee, "EACH")  # chosen explicitly, after a digest spell
    group = await make_group(owner.id, "Staging")
    await make_environment(owner.id, "api-staging", group=group)
    await make_environment(owner.id, "web-staging", group=group)
    member_id = await active_member(owner, invitee)
    async with start_worker():
        await owner.gql(UPDATE_SHARES, id=member_id, shares=[{"groupId": group,
                                                              "roleIds": [VIEWER]}])  # fmt: skip
        await settle()
    assert sorted(share_emails(mailbox, invitee.email)) == [
        '"Sharon" shared the environment api-staging with you',
        '"Sharon" shared the environment web-staging with you',
    ]


# -- DIGEST -------------------------------------------------------------------------------


async def test_digest_lists_every_new_environment_once_per_change(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Sharon")
    invitee = await sign_up(gql, "digest")
    await prefer(invitee, "DIGEST")
    group = await make_group(owner.id, "Staging")
    api = await make_environment(owner.id, "api-staging", group=group)
    web = await make_environment(owner.id, "web-staging", group=group)
    await make_environment(owner.id, "not-shared")
    member_id = await active_member(owner, invitee)  # nothing shared yet: no email
    group_share = [{"groupId": group, "roleIds": [VIEWER]}]
    async with start_worker():
        await settle()
        assert share_emails(mailbox, invitee.email) == []
        await owner.gql(UPDATE_SHARES, id=member_id, shares=group_share)
        await settle()
        [digest] = digests(mailbox, invitee.email)
        assert digest["Subject"] == '"Sharon" shared 2 environments with you'
        text, html = parts(digest)
        for env_id, name in [(api, "api-staging"), (web, "web-staging")]:
            link = f"http://collab.test/app/shared/{owner.id}/{env_id}"
            assert name in text and link in text and f'href="{link}"' in html
        assert "http://collab.test/app/shared-with-me" in text
        # A root share adds one environment: the next digest lists it alone.
        await owner.gql(UPDATE_SHARES, id=member_id, shares=[*group_share,
                        {"root": True, "roleIds": [VIEWER]}])  # fmt: skip
        await settle()
        # Removed and shared again, or reached another way: announced already, no email.
        await owner.gql(UPDATE_SHARES, id=member_id, shares=[])
        await owner.gql(UPDATE_SHARES, id=member_id, shares=group_share)
        await settle()
    assert share_emails(mailbox, invitee.email) == [
        '"Sharon" shared 2 environments with you',
        '"Sharon" shared 1 environment with you',
    ]
    second = parts(digests(mailbox, invitee.email)[1])[0]
    assert "not-shared" in second and "api-staging" not in second
    assert await ShareNotice.filter(member_id=member_id).count() == 3


async def test_digest_after_each_skips_what_was_already_emailed(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Sharon")
    invitee = await sign_up(gql, "switcher")
    group = await make_group(owner.id, "Staging")
    await make_environment(owner.id, "api-staging", group=group)
    member_id = await active_member(owner, invitee, shares=[{"groupId": group,
                                                             "roleIds": [VIEWER]}])  # fmt: skip
    async with start_worker():
        await settle()  # EACH: one email for api-staging
        await prefer(invitee, "DIGEST")
        new = await make_environment(owner.id, "web-staging")
        await owner.gql(ADD_TO_GROUP, e=new, g=group)
        await settle()
    assert share_emails(mailbox, invitee.email) == [
        '"Sharon" shared the environment api-staging with you',
        '"Sharon" shared 1 environment with you',
    ]
    text = parts(digests(mailbox, invitee.email)[0])[0]
    assert "web-staging" in text and "api-staging" not in text
    assert await ShareNotice.filter(member_id=member_id).count() == 2


async def test_changes_queued_together_never_list_an_environment_twice(gql, mailbox, start_worker):
    """Two changes committed before any worker runs: their jobs may run at once; each
    environment is in exactly one digest (the claims are unique per member/environment)."""
    owner = await sign_up(gql, "Sharon")
    invitee = await sign_up(gql, "racer")
    await prefer(invitee, "DIGEST")
    group = await make_group(owner.id, "Staging")
    names = [f"env-{i}" for i in range(6)]
    for name in names:
        await make_environment(owner.id, name, group=group)
    member_id = await active_member(owner, invitee)
    await owner.gql(UPDATE_SHARES, id=member_id, shares=[{"groupId": group, "roleIds": [VIEWER]}])
    await owner.gql(UPDATE_SHARES, id=member_id, shares=[{"root": True, "roleIds": [VIEWER]}])
    async with start_worker():
        await settle()
    listed = [n for m in digests(mailbox, invitee.email) for n in names if n in parts(m)[0]]
    assert sorted(listed) == names  # every one, none twice


async def test_digest_refused_for_now_is_retried_and_arrives_once(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Sharon")
    invitee = await sign_up(gql, "patient")
    await prefer(invitee, "DIGEST")
    group = await make_group(owner.id, "Staging")
    for name in ["api-staging", "web-staging"]:
        await make_environment(owner.id, name, group=group)
    member_id = await active_member(owner, invitee)
    async with start_worker():
        await settle()
        mailbox.busy = 1  # "451 try again later" for the digest's first hand-off
        await owner.gql(UPDATE_SHARES, id=member_id, shares=[{"groupId": group,
                                                              "roleIds": [VIEWER]}])  # fmt: skip
        await mailbox.wait_for(len(mailbox.messages) + 1)
        await settle()
    [digest] = digests(mailbox, invitee.email)
    assert digest["Subject"] == '"Sharon" shared 2 environments with you'
    rows = await OutboxJob.filter(job="share_notifications").order_by("-created_at")
    assert rows[0].status is OutboxStatus.DONE and rows[0].attempts == 2


async def test_digest_job_run_again_after_a_crash_sends_nothing_more(gql, mailbox, start_worker):
    """The worker died after the SMTP server took the digest, before the job was marked
    done: another worker takes the row over once its lease runs out, and the digest's
    key (one per change) says it went out."""
    owner = await sign_up(gql, "Sharon")
    invitee = await sign_up(gql, "crash")
    await prefer(invitee, "DIGEST")
    group = await make_group(owner.id, "Staging")
    for name in ["api-staging", "web-staging"]:
        await make_environment(owner.id, name, group=group)
    member_id = await active_member(owner, invitee)
    async with start_worker():
        await settle()
        await owner.gql(UPDATE_SHARES, id=member_id, shares=[{"groupId": group,
                                                              "roleIds": [VIEWER]}])  # fmt: skip
        await settle()
    assert len(digests(mailbox, invitee.email)) == 1
    row = (await OutboxJob.filter(job="share_notifications").order_by("-created_at"))[0]
    [sent] = await SentEmail.filter(key__startswith="share-digest:")
    assert sent.key == f"share-digest:{member_id}:{row.id}"
    # As the crash left it: still PENDING, held by a run whose lease has run out.
    await OutboxJob.filter(id=row.id).update(
        status=OutboxStatus.PENDING, finished_at=None, lease_owner="dead-run",
        available_at=utcnow() - timedelta(seconds=1),
    )  # fmt: skip
    async with start_worker():
        await settle()
    assert (await OutboxJob.get(id=row.id)).status is OutboxStatus.DONE
    assert len(digests(mailbox, invitee.email)) == 1
    assert (await SentEmail.get(key=sent.key)).status is SentEmailStatus.SENT


async def test_digest_refused_for_good_is_announced_by_the_next_change(gql, mailbox, start_worker):
    """A 5xx for the digest: the job fails (the owner sees it) and its environments are not
    counted as told, so the next digest that reaches the member lists them."""
    owner = await sign_up(gql, "Sharon")
    invitee = await sign_up(gql, "bounced")
    await prefer(invitee, "DIGEST")
    group = await make_group(owner.id, "Staging")
    await make_environment(owner.id, "api-staging", group=group)
    member_id = await active_member(owner, invitee)
    async with start_worker():
        await settle()
        mailbox.unknown = {invitee.email}
        await owner.gql(UPDATE_SHARES, id=member_id, shares=[{"groupId": group,
                                                              "roleIds": [VIEWER]}])  # fmt: skip
        await settle()
        [failure] = (await owner.gql("{ failedDeliveries { job } }")).data["failedDeliveries"]
        assert failure == {"job": "share_notifications"}
        assert await ShareNotice.filter(member_id=member_id).count() == 0
        mailbox.unknown = set()
        new = await make_environment(owner.id, "web-staging")
        await owner.gql(ADD_TO_GROUP, e=new, g=group)
        await settle()
    [digest] = digests(mailbox, invitee.email)
    assert digest["Subject"] == '"Sharon" shared 2 environments with you'
    text = parts(digest)[0]
    assert "api-staging" in text and "web-staging" in text


# -- OFF ----------------------------------------------------------------------------------


async def test_off_sends_no_share_email_and_other_emails_still_arrive(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Sharon")
    invitee = await sign_up(gql, "quiet")
    await prefer(invitee, "OFF")
    group = await make_group(owner.id, "Staging")
    api = await make_environment(owner.id, "api-staging", group=group)
    await make_environment(owner.id, "web-staging", group=group)
    platform = gql.as_(None)
    platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
    async with start_worker():
        member = await invite(owner, invitee.email, shares=[
            {"groupId": group, "roleIds": [FULL_ACCESS]},
        ])  # fmt: skip
        await settle()  # the invitation goes out while the member is pending
        r = await invitee.gql(ACCEPT_BY_ID, id=member["id"])
        assert r.ok("acceptInvitation")["member"]["status"] == "ACTIVE"
        member_id = member["id"]
        await settle()
        r = await platform(REPORT_LOAD, env=api, message="CPU at 97%")  # Full access: alerts
        assert r.ok("reportLoadAlert")["environment"] == {"id": api}
        await settle()  # (the fan-out reads the member's status when it runs)
        await owner.gql(SUSPEND, id=member_id)
        await settle()
    assert share_emails(mailbox, invitee.email) == []
    subjects = mailbox.subjects(invitee.email)
    assert any("invited you" in s for s in subjects)  # invitation
    assert "Load alert: api-staging" in subjects  # alerts follow the role
    assert any("suspended your access" in s for s in subjects)  # account care
    assert any("accepted your invitation" in s for s in mailbox.subjects(owner.email))


async def test_environments_shared_while_off_are_not_announced_later(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Sharon")
    invitee = await sign_up(gql, "later")
    await prefer(invitee, "OFF")
    group = await make_group(owner.id, "Staging")
    await make_environment(owner.id, "api-staging", group=group)
    member_id = await active_member(owner, invitee, shares=[{"groupId": group,
                                                             "roleIds": [VIEWER]}])  # fmt: skip
    async with start_worker():
        await settle()
        await prefer(invitee, "EACH")
        # Re-activation sends the share job again: api-staging was shared while OFF.
        await owner.gql(SUSPEND, id=member_id)
        await owner.gql(ACTIVATE, id=member_id)
        await settle()
        assert share_emails(mailbox, invitee.email) == []
        new = await make_environment(owner.id, "web-staging")
        await owner.gql(ADD_TO_GROUP, e=new, g=group)  # shared from now on: announced
        await settle()
    assert share_emails(mailbox, invitee.email) == [
        '"Sharon" shared the environment web-staging with you',
    ]
