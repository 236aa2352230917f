"""`collab outbox`, `collab audit export` and `collab check`, run as the real command."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from models import AuditEntry, OutboxJob, OutboxStatus, SentEmail, SentEmailStatus
from tests.conftest import PLATFORM_TOKEN
from tests.utils.accounts import sign_up
from tests.utils.members import VIEWER, active_member, invite
from tests.utils.processes import REPO, free_port
from tests.workers.conftest import eventually, make_environment, running_worker, settle
from tests.workers.test_in_doubt import HangingMailbox, _leave_in_doubt

REPORT_LOAD = """mutation($env: ID!, $message: String!) {
  reportLoadAlert(environmentId: $env, message: $message) { environment { id } errors { code } } }"""


async def collab(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """The `collab` command in a child process, without blocking this event loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collab.cli", *args, cwd=REPO, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def command_env(settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.redis_url,
            "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX, "ENVIRONMENT": "development",
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(settings.SMTP_PORT)}  # fmt: skip


async def test_outbox_lists_pending_and_failed_jobs_and_retries_one(
    gql, worker_settings, mailbox, start_worker
):
    env = command_env(worker_settings)
    owner = await sign_up(gql, "Owner")
    environment = await make_environment(owner.id, "shop-prod")
    platform = gql.as_(None)
    platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
    mailbox.unknown = {owner.email}  # the owner's mailbox refuses (550): the alert fails
    async with start_worker():
        r = await platform(REPORT_LOAD, env=environment, message="CPU at 97%")
        assert r.ok("reportLoadAlert")
        await settle()
    [failed] = await OutboxJob.filter(job="alert_fanout")
    assert failed.status is OutboxStatus.FAILED
    await invite(owner, f"later-{uuid.uuid4().hex[:6]}@collab.example")  # stays PENDING

    code, out, _ = await collab("outbox", "--json", env=env)
    assert code == 0
    rows = {row["job"]: row for row in map(json.loads, out.splitlines())}
    assert rows["alert_fanout"]["status"] == "FAILED" and rows["alert_fanout"]["id"] == str(
        failed.id
    )
    assert "550" in rows["alert_fanout"]["last_error"]
    assert rows["invitation_email"]["status"] == "PENDING"
    code, out, _ = await collab("outbox", "--status", "failed", env=env)
    assert code == 0 and str(failed.id) in out and "invitation_email" not in out

    mailbox.unknown = set()  # the mailbox is fixed; the operator retries the alert
    code, out, _ = await collab("outbox", "retry", str(failed.id), env=env)
    assert code == 0 and "due now" in out
    row = await OutboxJob.get(id=failed.id)
    assert row.status is OutboxStatus.PENDING and row.attempts == 0
    async with start_worker():
        await eventually(lambda: mailbox.to(owner.email), within=10)
        await settle()
    assert [m["Subject"] for m in mailbox.to(owner.email)] == ["Load alert: shop-prod"]
    assert (await OutboxJob.get(id=failed.id)).status is OutboxStatus.DONE

    code, _, err = await collab("outbox", "retry", str(failed.id), env=env)
    assert code == 1 and "done already" in err
    code, _, err = await collab("outbox", "retry", "not-an-id", env=env)
    assert code == 1 and "not an outbox id" in err
    code, _, err = await collab("outbox", "resend-email", "invite:unknown", env=env)
    assert code == 1 and err.startswith("collab: ")  # no such in-doubt email


# Configuration and processes, not SQL: one database is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_retrying_a_failed_invitation_points_to_resend(gql, worker_settings, mailbox,
                                                             start_worker):  # fmt: skip
    env = command_env(worker_settings)
    owner = await sign_up(gql, "Owner")
    refused = f"nobody-{uuid.uuid4().hex[:6]}@collab.example"
    mailbox.unknown = {refused}
    async with start_worker():
        await invite(owner, refused)
        await settle()
    [row] = await OutboxJob.filter(job="invitation_email")
    assert row.status is OutboxStatus.FAILED
    code, _, err = await collab("outbox", "retry", str(row.id), env=env)
    assert code == 1 and "resendInvitation" in err


async def test_audit_export_as_jsonl_and_csv_for_a_period(gql, settings, tmp_path: Path):
    env = command_env(settings)
    owner = await sign_up(gql, "Owner")
    member = await sign_up(gql, "Member")
    member_id = await active_member(owner, member)
    environment = await make_environment(owner.id, "shop-prod")
    update = """mutation($id: ID!, $shares: [ShareInput!]) {
      updateMember(id: $id, input: { shares: $shares }) { member { id } errors { code } } }"""
    (await owner.gql(update, id=member_id, shares=[
        {"environmentId": environment, "roleIds": [VIEWER]}])).ok("updateMember")  # fmt: skip
    entries = await AuditEntry.filter(owner_id=owner.id).order_by("at", "id")
    assert len(entries) >= 2
    since = (entries[0].at - timedelta(seconds=1)).isoformat()

    code, out, err = await collab("audit", "export", "--owner", owner.email, "--since", since,
                                  env=env)  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == [str(e.id) for e in entries]
    assert {line["owner_id"] for line in lines} == {owner.id}
    assert f"exported {len(entries)} audit entries" in err
    actors = {line["actor_email"] for line in lines if line["actor_id"]}
    assert actors <= {owner.email, member.email} and actors

    target = tmp_path / "audit.csv"
    until = entries[-1].at.isoformat()  # exclusive: the newest entry is left out
    code, _, err = await collab("audit", "export", "--owner", owner.id, "--since", since,
                                "--until", until, "--format", "csv", "-o", str(target),
                                env=env)  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["id"] for r in rows] == [str(e.id) for e in entries if e.at < entries[-1].at]
    assert rows[0]["action"] == entries[0].action

    code, _, err = await collab("audit", "export", "--owner", "ghost@collab.example",
                                "--since", since, env=env)  # fmt: skip
    assert code == 1 and "no account" in err
    code, _, _ = await collab("audit", "export", "--owner", owner.email, "--since", since,
                              "--format", "xml", env=env)  # fmt: skip
    assert code == 2


@pytest.fixture
def unmigrated(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'empty.db'}"


# Configuration and processes, not SQL: one database is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_check_exit_codes_say_what_is_wrong(worker_settings, mailbox, unmigrated):
    env = command_env(worker_settings)
    code, out, _ = await collab("check", env=env)
    assert code == 0, out
    assert all(line.startswith("ok") for line in out.splitlines()), out

    closed = str(free_port())
    cases = [
        ({"ENVIRONMENT": "production", "SECRET_KEY": "change-me"}, 3, "configuration"),
        ({"DATABASE_URL": f"postgres://nobody@127.0.0.1:{closed}/none"}, 4, "database"),
        ({"DATABASE_URL": unmigrated}, 5, "migrations"),
        ({"REDIS_URL": f"redis://127.0.0.1:{closed}/0"}, 6, "redis"),
        ({"SMTP_PORT": closed}, 7, "smtp"),
    ]
    for override, expected, failing in cases:
        code, out, _ = await collab("check", env={**env, **override})
        assert code == expected, (override, out)
        assert f"FAIL {failing}" in out, out
        if expected == 3:
            assert "SECRET_KEY" in out


# Configuration and processes, not SQL: one database is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_worker_check_reads_the_heartbeat_of_a_running_worker(
    worker_settings, mailbox, start_worker, tmp_path: Path
):
    beat = tmp_path / "worker.alive"
    env = {**command_env(worker_settings), "WORKER_HEARTBEAT_FILE": str(beat)}
    code, _, _ = await collab("worker", "--check", env=env)
    assert code == 1  # no worker ran here
    alive = worker_settings.model_copy(update={"WORKER_HEARTBEAT_FILE": str(beat)})
    from tests.workers.conftest import running_worker

    async with running_worker(alive):
        await eventually(beat.exists, within=5)
        code, _, _ = await collab("worker", "--check", env=env)
        assert code == 0
    os.utime(beat, (0, 0))  # a heartbeat from long ago: stuck or gone
    code, _, _ = await collab("worker", "--check", env=env)
    assert code == 1


@pytest.fixture
async def hanging(worker_settings, db: str):
    """An SMTP server that takes a message and never answers, until told to."""
    box = HangingMailbox()
    await box.start()
    yield box, worker_settings.model_copy(update={"SMTP_PORT": box.port})
    await box.stop()


async def test_outbox_lists_in_doubt_emails_and_resends_or_dismisses_them(hanging):
    """Two emails left IN_DOUBT by the mailer (a batch cancelled during its hand-off, as
    when a worker's shutdown grace runs out): listed, one resent, the other dismissed."""
    box, settings = hanging
    env = command_env(settings)
    doubted_before = REGISTRY.get_sample_value("collab_emails_total", {"outcome": "in_doubt"})
    await _leave_in_doubt(settings, "doubt:resend")
    await _leave_in_doubt(settings, "doubt:dismiss")
    doubted = REGISTRY.get_sample_value("collab_emails_total", {"outcome": "in_doubt"})
    assert (doubted or 0) == (doubted_before or 0) + 2

    code, out, err = await collab("outbox", "--status", "in-doubt", "--json", env=env)
    assert code == 0, err
    rows = {row["id"]: row for row in map(json.loads, out.splitlines())}
    assert set(rows) == {"doubt:resend", "doubt:dismiss"}
    assert {row["status"] for row in rows.values()} == {"IN_DOUBT"}
    assert rows["doubt:resend"]["last_error"] == "to doubt@collab.example: About doubt:resend"

    box.hang = False
    code, out, err = await collab("outbox", "resend-email", "doubt:resend", env=env)
    assert code == 0 and "queued to be sent again" in out, err
    code, out, _ = await collab("outbox", "--status", "in-doubt", env=env)
    assert code == 0 and "(resend queued)" in out
    async with running_worker(settings):
        await box.wait_for(1)
        await eventually(lambda: OutboxJob.exists(job="resend_email", status=OutboxStatus.DONE))
    assert [m["Subject"] for m in box.messages] == ["About doubt:resend"]
    assert (await SentEmail.get(key="doubt:resend")).status is SentEmailStatus.SENT

    code, out, err = await collab("outbox", "dismiss-email", "doubt:dismiss", env=env)
    assert code == 0 and "recorded as sent" in out, err
    assert (await SentEmail.get(key="doubt:dismiss")).status is SentEmailStatus.SENT
    assert len(box.messages) == 1  # dismissed: recorded, not sent
    code, out, _ = await collab("outbox", "--status", "in-doubt", env=env)
    assert code == 0 and out.strip() == "nothing pending, failed or in doubt"
    for action in ("resend-email", "dismiss-email"):  # neither is in doubt any more
        code, _, err = await collab("outbox", action, "doubt:dismiss", env=env)
        assert code == 1 and "not IN_DOUBT" in err, err
