"""Share notifications, trial and invitation expiry, and alert fan-out by the real worker."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.clock import utcnow
from models import Account, Member, MemberStatus, ShareNotice
from tests.conftest import PLATFORM_TOKEN
from tests.utils.accounts import sign_up
from tests.utils.members import FULL_ACCESS, LIMITED_ACCESS, VIEWER, active_member, invite
from tests.workers.conftest import eventually, make_environment, make_group, parts, settle
from workers.trials import expire_trials

UPDATE_SHARES = """
mutation($id: ID!, $shares: [ShareInput!]) {
  updateMember(id: $id, input: { shares: $shares }) { member { id } errors { code } }
}"""
REPORT_LOAD = """
mutation($env: ID!, $message: String!) {
  reportLoadAlert(environmentId: $env, message: $message) {
    environment { id name } errors { code field }
  }
}"""
REPORT_SCALING = """
mutation($env: ID!, $message: String!) {
  reportScalingEvent(environmentId: $env, message: $message) {
    environment { id name } errors { code field }
  }
}"""


def shared_subjects(mailbox, to: str) -> list[str]:
    return [s for s in mailbox.subjects(to) if "shared the environment" in s]


async def test_group_share_sends_one_email_per_environment_once(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Sharon")
    invitee = await sign_up(gql, "grace")
    group = await make_group(owner.id, "Staging")
    api = await make_environment(owner.id, "api-staging", group=group)
    await make_environment(owner.id, "web-staging", group=group)
    await make_environment(owner.id, "not-shared")
    member_id = await active_member(owner, invitee)
    async with start_worker():
        group_share = [{"groupId": group, "roleIds": [VIEWER]}]
        await owner.gql(UPDATE_SHARES, id=member_id, shares=group_share)
        await settle()
        assert shared_subjects(mailbox, invitee.email) == [
            '"Sharon" shared the environment api-staging with you',
            '"Sharon" shared the environment web-staging with you',
        ]
        # Shared again in other ways, removed and re-shared: never a second email.
        await owner.gql(UPDATE_SHARES, id=member_id, shares=[*group_share,
                        {"root": True, "roleIds": [VIEWER]}])  # fmt: skip
        await settle()
        await owner.gql(UPDATE_SHARES, id=member_id, shares=[])
        await owner.gql(UPDATE_SHARES, id=member_id, shares=group_share)
        await settle()
    subjects = shared_subjects(mailbox, invitee.email)
    assert subjects == sorted([
        '"Sharon" shared the environment api-staging with you',
        '"Sharon" shared the environment web-staging with you',
        '"Sharon" shared the environment not-shared with you',  # newly visible via the root
    ])  # fmt: skip
    assert await ShareNotice.filter(member_id=member_id).count() == 3
    text, html = parts(next(m for m in mailbox.to(invitee.email) if "api-staging" in m["Subject"]))
    assert "api-staging" in text and "api-staging" in html
    # The link opens the environment's place in the dashboard's "Shared with me".
    link = f"http://collab.test/app/shared/{owner.id}/{api}"
    assert link in text and f'href="{link}"' in html


async def test_trial_expiry_happens_once_and_mails_member_and_owner(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Trudy")
    invitee = await sign_up(gql, "tim")
    member_id = await active_member(owner, invitee, shares=[{"root": True, "roleIds": [VIEWER]}])
    await Account.filter(id=invitee.id).update(trial_ends_at=utcnow() - timedelta(minutes=1))

    def trial_mail() -> list[str]:
        return [s for s in mailbox.subjects() if "trial ended" in s]

    async with start_worker():  # the cron runs at start-up
        assert await eventually(
            lambda: Member.exists(id=member_id, status=MemberStatus.TRIAL_EXPIRED)
        )
        await settle()
    async with start_worker():  # and again, with the cron run twice: nothing more happens
        await asyncio.sleep(0.5)
        assert await expire_trials({}) == 0
        await settle()
    assert sorted(trial_mail()) == sorted([
        f"{invitee.email}'s trial ended: their access is paused",
        'Your trial ended: access to "Trudy"\'s environments is paused',
    ])  # fmt: skip
    assert [m["To"] for m in mailbox.messages if "Your trial" in m["Subject"]] == [invitee.email]
    assert [m["To"] for m in mailbox.messages if "their access" in m["Subject"]] == [owner.email]


async def test_unanswered_invitation_expires(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Expiring")
    member = await invite(owner, "slow@collab.example")
    await Member.filter(id=member["id"]).update(
        invitation_expires_at=utcnow() - timedelta(seconds=1)
    )
    async with start_worker():
        await eventually(lambda: Member.exists(id=member["id"], status=MemberStatus.EXPIRED))
    listed = (await owner.gql("{ members { id status } }")).data["members"]
    assert listed == [{"id": member["id"], "status": "EXPIRED"}]


async def test_load_alert_reaches_owner_and_alert_roles_over_one_connection(
    gql, mailbox, start_worker
):
    owner = await sign_up(gql, "Alerted")
    env = await make_environment(owner.id, "busy-env")
    full = [await sign_up(gql, f"full{i}") for i in range(6)]
    limited = await sign_up(gql, "limited")
    narrowed = await sign_up(gql, "narrowed")
    for user in full:
        await active_member(owner, user, shares=[{"root": True, "roleIds": [FULL_ACCESS]}])
    await active_member(owner, limited, shares=[{"root": True, "roleIds": [LIMITED_ACCESS]}])
    await active_member(owner, narrowed, shares=[
        {"root": True, "roleIds": [FULL_ACCESS]}, {"environmentId": env, "roleIds": [VIEWER]},
    ])  # fmt: skip
    platform = gql.as_(None)
    platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
    message = "CPU at 97% on node 2\n  <b>not html</b> & friends"
    async with start_worker():
        await settle()
        before_messages, before_connections = len(mailbox.messages), mailbox.connections
        r = await platform(REPORT_LOAD, env=env, message=message)
        assert r.ok("reportLoadAlert")["environment"] == {"id": env, "name": "busy-env"}
        await mailbox.wait_for(before_messages + 7)
        await settle()
    alerts = mailbox.messages[before_messages:]
    assert sorted(m["To"] for m in alerts) == sorted([owner.email, *(u.email for u in full)])
    assert mailbox.connections == before_connections + 1  # one SMTP connection for the batch
    text, html = parts(alerts[0])
    assert message in text  # quoted verbatim
    assert "&lt;b&gt;not html&lt;/b&gt; &amp; friends" in html
    assert all(m["Subject"] == "Load alert: busy-env" for m in alerts)


async def test_scaling_event_follows_scaling_notify_policy(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Scaler")
    env = await make_environment(owner.id, "autoscaled")
    full = await sign_up(gql, "full")
    viewer = await sign_up(gql, "viewer")
    await active_member(owner, full, shares=[{"environmentId": env, "roleIds": [FULL_ACCESS]}])
    await active_member(owner, viewer, shares=[{"environmentId": env, "roleIds": [VIEWER]}])
    platform = gql.as_(None)
    platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
    async with start_worker():
        await settle()
        before = len(mailbox.messages)
        await platform(REPORT_SCALING, env=env, message="Added 2 nodes")
        await mailbox.wait_for(before + 2)
        await settle()
    scaling = mailbox.messages[before:]
    assert sorted(m["To"] for m in scaling) == sorted([owner.email, full.email])
    assert "Added 2 nodes" in parts(scaling[0])[0]


async def test_alert_mutations_refuse_bad_callers_and_targets(gql, mailbox):
    owner = await sign_up(gql, "Guarded")
    env = await make_environment(owner.id, "guarded-env")
    r = await owner.gql(REPORT_LOAD, env=env, message="hi")  # a user is not the platform
    assert r.payload("reportLoadAlert")["errors"][0]["code"] == "UNAUTHENTICATED"
    platform = gql.as_(None)
    platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
    for bad in ["00000000-0000-4000-8000-000000000000", "nonsense"]:
        r = await platform(REPORT_SCALING, env=bad, message="hi")
        assert r.payload("reportScalingEvent")["errors"][0]["code"] == "NOT_FOUND"
    r = await platform(REPORT_LOAD, env=env, message="   ")
    assert r.payload("reportLoadAlert")["errors"] == [{"code": "VALIDATION", "field": "message"}]


async def test_many_trials_expire_in_one_run_emails_batched_per_owner(db, mailbox, start_worker):
    from bench import workers as bench
    from models import OutboxJob

    await bench.seed_trials(130, owners=2)  # 65 members each: one job per owner
    assert await expire_trials({}) == 130
    assert await Member.filter(status=MemberStatus.TRIAL_EXPIRED).count() == 130
    jobs = await OutboxJob.filter(job="trial_expired_email")
    assert sorted(len(j.payload["members"]) for j in jobs) == [65, 65]
    async with start_worker():
        await mailbox.wait_for(260, within=30)
        await settle()
    recipients = [m["To"] for m in mailbox.messages]
    assert len(recipients) == 260
    assert len({(m["To"], m["Subject"]) for m in mailbox.messages}) == 260  # none twice
    assert mailbox.connections == 2  # one SMTP connection per job
    assert await expire_trials({}) == 0
