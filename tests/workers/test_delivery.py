"""The delivery guarantees of CONTRACT.md section 3, each against real Redis and SMTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from arq.connections import ArqRedis

from domain import members
from domain.unit_of_work import unit_of_work
from gateway.app import create_app
from infra.settings import Settings
from models import Account, AccountRole, OutboxJob, OutboxStatus, SentEmail
from tests.utils.accounts import sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.members import invite
from tests.workers.conftest import eventually, settle
from workers.dispatch import RUN_OUTBOX_JOB

FAILED_DELIVERIES = """
{ failedDeliveries { id job description error attempts failedAt memberId } }
"""


async def _invitation_row() -> OutboxJob:
    return await OutboxJob.get(job="invitation_email")


async def test_rolled_back_change_sends_nothing(app, settings, redis, mailbox, start_worker):
    gql = GraphQLClient(httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                          base_url="http://collab.test"))  # fmt: skip
    owner = await sign_up(gql, "Rollback")
    account = await Account.get(id=owner.id)
    queued, rows = await redis.zcard(settings.queue_name), await OutboxJob.all().count()
    with pytest.raises(RuntimeError):
        async with unit_of_work(app.state.services.after_commit):
            await members.invite(account, "never@collab.example", None, AccountRole.VIEWER, [], 24)
            raise RuntimeError("the rest of the mutation failed")

    assert await redis.zcard(settings.queue_name) == queued  # nothing was handed to arq
    async with start_worker():
        await asyncio.sleep(0.8)  # relay ticks every 0.1 s: it would have found a row
    assert mailbox.messages == []  # (the owner's verification email: verified meanwhile)
    assert await OutboxJob.all().count() == rows


@pytest.fixture
async def dead_redis_gql(db: str, settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The gateway as it runs while Redis is down: mutations still commit."""
    dead = settings.model_copy(update={"REDIS_URL": "redis://127.0.0.1:1/0"})
    application = create_app(dead)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://collab.test") as h:
            yield GraphQLClient(h)


async def test_redis_down_during_the_mutation_still_delivers_once(
    dead_redis_gql, redis, mailbox, start_worker
):
    owner = await sign_up(dead_redis_gql, "Outage")
    await invite(owner, "patient@collab.example")  # succeeds although Redis is down
    row = await _invitation_row()
    assert row.status is OutboxStatus.PENDING and row.enqueued_at is None

    async with start_worker():  # Redis is back: the relay finds the committed row
        [message] = await mailbox.wait_for(1)
    assert message["To"] == "patient@collab.example"
    await asyncio.sleep(0.3)
    assert len(mailbox.messages) == 1
    row = await _invitation_row()
    assert row.status is OutboxStatus.DONE and row.enqueued_at is not None


async def test_smtp_busy_then_back_is_retried_and_delivered(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Busy")
    mailbox.busy = 2  # "451 try again later", twice
    async with start_worker():
        await invite(owner, "retry@collab.example")
        await mailbox.wait_for(1)
    row = await _invitation_row()
    assert row.status is OutboxStatus.DONE and row.attempts == 3
    assert [m["To"] for m in mailbox.messages] == ["retry@collab.example"]


async def test_smtp_down_then_up_delivers(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Down")
    await mailbox.stop()
    async with start_worker():
        await invite(owner, "later@collab.example")
        row = await eventually(
            lambda: OutboxJob.get_or_none(
                job="invitation_email", attempts__gte=1, last_error__isnull=False
            )
        )
        assert row is not None and row.status is OutboxStatus.PENDING
        assert await SentEmail.all().count() == 0  # the claim was released for the retry
        await mailbox.start()
        await mailbox.wait_for(1)
    assert (await _invitation_row()).status is OutboxStatus.DONE


async def test_permanent_refusal_is_failed_and_shown_to_the_owner(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Refused")
    mailbox.unknown = {"nobody@collab.example"}
    async with start_worker():
        member = await invite(owner, "nobody@collab.example")
        await eventually(lambda: OutboxJob.exists(status=OutboxStatus.FAILED))
    row = await _invitation_row()
    assert row.attempts == 1 and "token" not in row.payload  # not retried; secret wiped
    [failure] = (await owner.gql(FAILED_DELIVERIES)).data["failedDeliveries"]
    assert failure["job"] == "invitation_email" and failure["memberId"] == member["id"]
    assert "550" in failure["error"] and "nobody@collab.example" in failure["error"]
    assert failure["failedAt"] is not None
    other = await sign_up(gql, "Bystander")
    assert (await other.gql(FAILED_DELIVERIES)).data["failedDeliveries"] == []
    assert (await gql(FAILED_DELIVERIES)).codes() == ["UNAUTHENTICATED"]


async def test_giving_up_after_max_attempts_is_recorded(gql, mailbox, start_worker):
    owner = await sign_up(gql, "Patience")
    mailbox.busy = 1000
    async with start_worker():
        await invite(owner, "busy@collab.example")
        await eventually(lambda: OutboxJob.exists(status=OutboxStatus.FAILED), within=8)
    row = await _invitation_row()
    assert row.attempts == 4 and row.last_error and "gave up after 4 attempts" in row.last_error
    assert mailbox.messages == []
    [failure] = (await owner.gql(FAILED_DELIVERIES)).data["failedDeliveries"]
    assert failure["attempts"] == 4 and "451" in failure["error"]


async def test_a_job_that_runs_twice_sends_one_email(gql, settings, redis, mailbox, start_worker):
    owner = await sign_up(gql, "Twice")
    async with start_worker() as arq_worker:
        await invite(owner, "once@collab.example")
        await mailbox.wait_for(1)
        await settle()
        row = await _invitation_row()
        # At-least-once: the job comes again as if its completion had been lost.
        await OutboxJob.filter(id=row.id).update(status=OutboxStatus.PENDING)
        pool: ArqRedis = arq_worker.pool
        await pool.enqueue_job(RUN_OUTBOX_JOB, str(row.id), _job_id=str(uuid.uuid4()))
        await eventually(lambda: OutboxJob.exists(id=row.id, status=OutboxStatus.DONE, attempts=2))
    assert len(mailbox.messages) == 1
    assert await SentEmail.filter(key=f"invite:{row.id}").count() == 1
