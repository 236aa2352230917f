"""Reminder crons: a pending invitation reminded once, a trial collaborator and its owners
warned once before the trial ends, whatever the number of workers and cron runs.

The real worker (its crons run at start-up), Redis and an SMTP sink; time moves with
domain.clock.travel, so the gateway, the crons and the jobs all see the same "now".
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from domain.clock import travel, utcnow
from infra.settings import Settings
from models import InvitationToken, Member, OutboxJob
from tests.conftest import PLATFORM_TOKEN
from tests.utils.accounts import User, sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.members import ACCEPT_BY_ID, VIEWER, active_member, invitation_token, invite
from tests.workers.conftest import LINK, Mailbox, eventually, parts, settle
from workers.reminders import remind_invitations, warn_trials

BY_TOKEN = "query($token: String!) { invitationByToken(token: $token) { id } }"
ACCEPT_BY_TOKEN = """
mutation($token: String) { acceptInvitation(token: $token) { member { status } errors { code } } }
"""
REJECT_BY_TOKEN = """
mutation($token: String) { rejectInvitation(token: $token) { member { status } errors { code } } }
"""
RESEND = "mutation($id: ID!) { resendInvitation(id: $id) { errors { code } } }"
REMOVE = "mutation($id: ID!) { removeMember(id: $id) { errors { code } } }"
INVITE_MEMBERS = """
mutation($inputs: [InviteMemberInput!]!) { inviteMembers(inputs: $inputs) { errors { code } } }
"""
SET_KIND = """
mutation($id: ID!, $kind: AccountKind!, $ends: DateTime) {
  platformSetAccountKind(accountId: $id, kind: $kind, trialEndsAt: $ends) { errors { code } }
}"""

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def reminders(mailbox: Mailbox, to: str | None = None) -> list[Any]:
    """Reminder emails (a re-sent invitation also says "Reminder:": see `resends`)."""
    return [m for m in (mailbox.to(to) if to else mailbox.messages)
            if m["Subject"].startswith("Reminder:")]  # fmt: skip


def token_in(message: Any) -> str:
    [link] = LINK.findall(parts(message)[0])
    return str(link.rsplit("/", 1)[1])


def cron_ctx(settings: Settings) -> dict[str, Any]:
    """What a worker hands its crons; without `after_commit` the relay enqueues the jobs."""
    return {"settings": settings}


async def test_a_pending_invitation_is_reminded_once_with_a_link_that_works(
    gql, mailbox, start_worker, worker_settings
):
    owner = await sign_up(gql, "Rita Reminder")
    waiting = await invite(owner, "waiting@collab.example",
                           shares=[{"root": True, "roleIds": [VIEWER]}])  # fmt: skip
    accepter = await sign_up(gql, "accepter")
    accepted = await invite(owner, accepter.email)
    rejected = await invite(owner, "rejecter@collab.example")
    withdrawn = await invite(owner, "withdrawn@collab.example")
    (await accepter.gql(ACCEPT_BY_ID, id=accepted["id"])).ok("acceptInvitation")
    (await gql(REJECT_BY_TOKEN, token=await invitation_token(rejected["id"]))).ok(
        "rejectInvitation"
    )
    (await owner.gql(REMOVE, id=withdrawn["id"])).ok("removeMember")
    first_token = await invitation_token(waiting["id"])
    async with start_worker():
        await mailbox.wait_for(3)  # the open invitation, the owner's "accepted", "rejected"
        assert await remind_invitations(cron_ctx(worker_settings)) == 0  # not yet

    with travel(71 * HOUR):
        assert await remind_invitations(cron_ctx(worker_settings)) == 0  # still not yet
    with travel(73 * HOUR):
        async with start_worker():  # its cron runs at start-up
            await eventually(lambda: reminders(mailbox))
            await settle()
        [reminder] = reminders(mailbox)
        assert reminder["To"] == "waiting@collab.example"
        assert "Rita Reminder" in reminder["Subject"]
        text, html = parts(reminder)
        assert "all environments (Viewer)" in text and "Accept or reject" in html
        # The reminder's link and the first one both open the same invitation.
        second_token = token_in(reminder)
        assert second_token != first_token
        for token in (first_token, second_token):
            found = (await gql(BY_TOKEN, token=token)).data["invitationByToken"]
            assert found == {"id": waiting["id"]}
        assert (
            not await OutboxJob.filter(job="invitation_reminder_email")
            .exclude(status="DONE")
            .exists()
        )
        assert all("tokens" not in row.payload for row in await OutboxJob.filter(
            job="invitation_reminder_email"))  # fmt: skip

    with travel(150 * HOUR):  # later runs, still before the invitation expires
        async with start_worker():
            assert await remind_invitations(cron_ctx(worker_settings)) == 0
            await settle()
        assert len(reminders(mailbox)) == 1
        invitee = await sign_up(gql, "waiting", email="waiting@collab.example")
        r = await invitee.gql(ACCEPT_BY_TOKEN, token=second_token)
        assert r.ok("acceptInvitation")["member"]["status"] == "ACTIVE"
        # Answering through one link retires the other.
        assert (await gql(BY_TOKEN, token=first_token)).codes() == ["INVALID_TOKEN"]


async def test_a_resend_restarts_the_clock_and_expired_invitations_are_not_reminded(
    gql, mailbox, start_worker, worker_settings
):
    owner = await sign_up(gql, "Clock Owner")
    resent = await invite(owner, "resent@collab.example")
    await invite(owner, "lapsed@collab.example")
    ctx = cron_ctx(worker_settings)
    with travel(73 * HOUR):
        assert await remind_invitations(ctx) == 2  # both reminded once
    with travel(80 * HOUR):
        (await owner.gql(RESEND, id=resent["id"])).ok("resendInvitation")
        resent_token = await invitation_token(resent["id"])
    with travel(151 * HOUR):
        assert await remind_invitations(ctx) == 0  # 71 h after the re-send
    with travel(153 * HOUR):
        assert await remind_invitations(ctx) == 1  # 73 h after it: the re-sent invitation
        async with start_worker():
            await eventually(lambda: len(reminders(mailbox, "resent@collab.example")) == 2)
            await settle()
    # The first reminder's link died with the re-send, so it was not sent; resent@ got the
    # re-send itself and that one's reminder, each with a live link; lapsed@ its reminder.
    sent = reminders(mailbox, "resent@collab.example")
    assert len(sent) == 2 and len(reminders(mailbox, "lapsed@collab.example")) == 1
    tokens = {token_in(m) for m in sent}
    assert resent_token in tokens and len(tokens) == 2
    with travel(153 * HOUR):
        for token in tokens:
            found = (await gql(BY_TOKEN, token=token)).data["invitationByToken"]
            assert found == {"id": resent["id"]}
    with travel(169 * HOUR):  # lapsed@ expired unanswered: no more reminders, ever
        assert await remind_invitations(ctx) == 0


async def test_two_workers_and_overlapping_cron_runs_remind_each_invitation_once(
    gql, mailbox, start_worker, worker_settings
):
    owner = await sign_up(gql, "Many Pending")
    emails = [f"pending-{i:02}@collab.example" for i in range(30)]
    r = await owner.gql(INVITE_MEMBERS, inputs=[{"email": e} for e in emails])
    assert all(p["errors"] == [] for p in r.payload("inviteMembers"))
    ctx = cron_ctx(worker_settings)
    with travel(73 * HOUR):
        async with start_worker(), start_worker():  # two workers, each running the cron
            runs = await asyncio.gather(*(remind_invitations(ctx) for _ in range(4)))
            await eventually(lambda: len(reminders(mailbox)) >= 30, within=20)
            await settle(10)
            await asyncio.sleep(0.5)
    assert sum(runs) <= 30
    assert sorted(m["To"] for m in reminders(mailbox)) == emails
    # Queued once, not merely deduplicated at sending: one reminder link per invitation.
    for member_id in await Member.filter(owner_id=owner.id).values_list("id", flat=True):
        assert await InvitationToken.filter(member_id=member_id).count() == 2
    jobs = await OutboxJob.filter(job="invitation_reminder_email")
    assert sum(len(j.payload["reminders"]) for j in jobs) == 30


# -- trial warnings -----------------------------------------------------------------


def platform_client(gql: GraphQLClient) -> GraphQLClient:
    client = gql.as_(None)
    client.headers["X-Platform-Token"] = PLATFORM_TOKEN
    return client


async def set_trial_end(gql: GraphQLClient, user: User, ends: Any, kind: str = "TRIAL") -> None:
    r = await platform_client(gql)(SET_KIND, id=user.id, kind=kind,
                                   ends=ends.isoformat() if ends else None)  # fmt: skip
    r.ok("platformSetAccountKind")


def warnings(mailbox: Mailbox) -> list[tuple[str, str]]:
    return sorted((m["To"], m["Subject"]) for m in mailbox.messages if "trial ends" in m["Subject"])


async def test_a_trial_collaborator_and_each_owner_are_warned_once_before_the_trial_ends(
    gql, mailbox, start_worker, worker_settings
):
    first = await sign_up(gql, "First Owner")
    second = await sign_up(gql, "Second Owner")
    trial = await sign_up(gql, "trial")
    later = await sign_up(gql, "later")  # a trial ending beyond the warning window
    for owner in (first, second):
        await active_member(owner, trial)
    await active_member(first, later)
    ends = utcnow() + 2 * DAY
    await set_trial_end(gql, trial, ends)
    await set_trial_end(gql, later, utcnow() + 5 * DAY)
    stamp = ends.strftime("%Y-%m-%d %H:%M UTC")
    async with start_worker():
        await eventually(lambda: len(warnings(mailbox)) >= 3)
        await settle()
        assert await warn_trials(cron_ctx(worker_settings)) == 0
    assert warnings(mailbox) == sorted([
        (trial.email, f"Your trial ends on {stamp}: shared access will pause"),
        (first.email, f"{trial.email}'s trial ends on {stamp}"),
        (second.email, f"{trial.email}'s trial ends on {stamp}"),
    ])  # fmt: skip
    [to_trial] = [m for m in mailbox.to(trial.email) if "trial ends" in m["Subject"]]
    text = parts(to_trial)[0]
    assert "First Owner" in text and "Second Owner" in text
    assert later.email not in {to for to, _ in warnings(mailbox)}  # 5 days out: not yet

    with travel(DAY):  # later runs inside the same window send nothing more
        async with start_worker():
            assert await warn_trials(cron_ctx(worker_settings)) == 0
            await settle()
    assert len(warnings(mailbox)) == 3

    # Billing moves the trial's end: the new end is warned about when it comes near.
    await set_trial_end(gql, trial, utcnow() + 20 * DAY)
    assert await warn_trials(cron_ctx(worker_settings)) == 0
    with travel(18 * DAY):
        async with start_worker():
            await eventually(lambda: len(warnings(mailbox)) >= 6)
            await settle()
            await asyncio.sleep(0.3)
    assert len(warnings(mailbox)) == 6


async def test_a_warning_is_not_sent_once_the_trial_was_upgraded(
    gql, mailbox, start_worker, worker_settings
):
    owner = await sign_up(gql, "Upgrade Owner")
    trial = await sign_up(gql, "upgrader")
    await active_member(owner, trial)
    await set_trial_end(gql, trial, utcnow() + DAY)
    assert await warn_trials(cron_ctx(worker_settings)) == 1  # queued, not sent yet
    await set_trial_end(gql, trial, None, kind="FULL")
    async with start_worker():
        await settle()
        await asyncio.sleep(0.3)
    assert warnings(mailbox) == []
    assert await OutboxJob.filter(job="trial_warning_email", status="DONE").count() == 1


async def test_two_workers_and_overlapping_cron_runs_warn_each_trial_once(
    gql, mailbox, start_worker, worker_settings
):
    owner = await sign_up(gql, "Busy Owner")
    trials = [await sign_up(gql, f"trial-{i}") for i in range(8)]
    for user in trials:
        await active_member(owner, user)
        await set_trial_end(gql, user, utcnow() + 2 * DAY)
    ctx = cron_ctx(worker_settings)
    async with start_worker(), start_worker():
        runs = await asyncio.gather(*(warn_trials(ctx) for _ in range(4)))
        await eventually(lambda: len(warnings(mailbox)) >= 16, within=20)
        await settle(10)
        await asyncio.sleep(0.5)
    assert sum(runs) <= 8
    assert sorted(to for to, _ in warnings(mailbox)) == sorted(
        [u.email for u in trials] + [owner.email] * 8
    )
    jobs = await OutboxJob.filter(job="trial_warning_email")
    assert sum(len(j.payload["members"]) for j in jobs) == 8
