"""Benchmark: the workers' email fan-out and trial expiry, beside aiosmtplib's floor.

Each scenario seeds its own data on the given (already migrated) database, runs one real
arq worker (this process, production timings) and sends to a real aiosmtpd sink on
loopback that runs in a separate process, so the sink never competes with the worker
for this process's event loop.

- fan-out: a group of N environments shared with one member becomes N share emails
  (one SHARE_NOTIFICATIONS job, one SMTP connection), to a sink as aiosmtpd ships (one
  command at a time) and again to one that advertises PIPELINING (`run_fanout`). The floor is aiosmtplib alone
  sending N messages of the same shape over one connection to the same sink, measured
  in the same run beside ours, in alternating order, round after round (see
  `run_fanout`: the median of the rounds' own ratios counts).
- trial expiry: M trial collaborators (of 100 owners) past their trial end; the cron's
  status change is timed on its own, then the 2 x M emails (member and owner) until
  the last one arrives.

    .venv/bin/python bench/workers.py --environments 1000 --members 10000 \
        --database-url postgres://postgres@127.0.0.1:5432/bench

Without --database-url a temporary SQLite file is used. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiosmtplib

from infra.settings import Settings

# --------------------------------------------------------------------------- the sink


def _sink_main(port: int, count: Any, log_path: str, ready: Any, pipelining: bool) -> None:
    """The SMTP sink process: accepts everything, counts it, logs `To<TAB>Subject`.
    With `pipelining` its EHLO also advertises PIPELINING, as production relays do
    (aiosmtpd reads pipelined commands in order but does not announce it)."""
    from email.parser import BytesHeaderParser

    from aiosmtpd.smtp import SMTP

    parser = BytesHeaderParser()
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 (lives as long as the process)

    class Handler:
        async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                              responses: list[str]) -> list[str]:  # fmt: skip
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]] if pipelining else responses

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            headers = parser.parsebytes(envelope.content)
            log.write(f"{headers['To']}\t{headers['Subject']}\n")
            with count.get_lock():
                count.value += 1
            return "250 OK"

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Handler(), hostname="sink.bench", loop=loop), "127.0.0.1", port
        )
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


class Sink:
    def __init__(self, pipelining: bool = False) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.port = _free_port()
        self.count = ctx.Value("i", 0)
        self.log_path = tempfile.mktemp(prefix="collab-bench-sink-", suffix=".log")
        ready = ctx.Event()
        self.process = ctx.Process(
            target=_sink_main,
            args=(self.port, self.count, self.log_path, ready, pipelining),
            daemon=True,
        )
        self.process.start()
        if not ready.wait(30):
            raise RuntimeError("the SMTP sink did not start")

    @property
    def received(self) -> int:
        return int(self.count.value)

    def arrivals(self) -> list[str]:
        return Path(self.log_path).read_text().splitlines()

    async def wait_for(self, total: int, within: float) -> float:
        """Waits until `total` messages arrived in all; returns when (perf_counter)."""
        deadline = time.perf_counter() + within
        while self.received < total:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{self.received} of {total} emails arrived in {within} s")
            await asyncio.sleep(0.005)
        return time.perf_counter()

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)
        with contextlib.suppress(OSError):
            os.unlink(self.log_path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def floor_rate(sink: Sink, settings: Settings, n: int) -> tuple[float, float]:
    """aiosmtplib alone: n messages like ours, built beforehand (not timed), one
    connection, one `sendmail` after another. Returns (emails/s, CPU seconds used)."""
    from workers import emails
    from workers.mailer import Mailer

    mailer = Mailer(settings)
    messages = [
        mailer.render(emails.share_notice(
            key=f"floor:{i}", to="floor@bench.example", owner_name="Floor Owner",
            environment_name=f"env-{i}", environment_display=f"Env {i}",
            link=settings.public_url,
        ))
        for i in range(n)
    ]  # fmt: skip
    before = sink.received
    cpu = time.process_time()
    started = time.perf_counter()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port, timeout=10)
    await client.connect()
    for message in messages:
        await client.sendmail(mailer.sender, ["floor@bench.example"], message)
    await client.quit()
    done = await sink.wait_for(before + n, 60)
    return n / (done - started), time.process_time() - cpu


# --------------------------------------------------------------------------- setup


def bench_settings(database_url: str, redis_url: str, sink: Sink) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=database_url, REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=f"collab-bench:{uuid.uuid4().hex[:8]}",
        SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_TLS=False,
        PUBLIC_URL="http://bench.example",
    )  # fmt: skip


@contextlib.asynccontextmanager
async def running(
    database_url: str, redis_url: str, pipelining: bool = False
) -> AsyncIterator[tuple[Settings, Sink]]:
    """Tortoise connected, a sink process, and settings pointing at both."""
    from tortoise import Tortoise

    from infra.db import tortoise_config

    sink = Sink(pipelining)
    settings = bench_settings(database_url, redis_url, sink)
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    try:
        await _park_leftovers()
        yield settings, sink
    finally:
        await Tortoise.close_connections()
        sink.stop()
        await _forget_prefix(redis_url, settings.REDIS_KEY_PREFIX)


async def _forget_prefix(redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def _park_leftovers() -> None:
    """Outbox rows other scenarios left PENDING (`inviteMember` queues hundreds for a
    queue no worker serves) are put off for a day: their arq job ids are taken, so this
    worker could never run them, but its relay would try to enqueue each of them every
    0.5 s (about three Redis round trips a row), in this process, during the measurement.
    """
    from datetime import UTC, datetime

    from models import OutboxJob, OutboxStatus

    later = datetime.now(UTC) + timedelta(days=1)
    parked = await OutboxJob.filter(status=OutboxStatus.PENDING).update(available_at=later)
    if parked:
        print(f"bench.workers: {parked} PENDING outbox row(s) of other scenarios put off")


@contextlib.asynccontextmanager
async def worker_running(settings: Settings) -> AsyncIterator[Any]:
    from workers.settings import close_worker, worker

    arq_worker = worker(settings, crons=False)
    task = asyncio.create_task(arq_worker.async_run())
    try:
        yield arq_worker
    finally:
        await close_worker(arq_worker)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _tag() -> str:
    return uuid.uuid4().hex[:8]


async def _account(email: str, kind: Any, **extra: Any) -> Any:
    from models import Account

    return await Account.create(
        id=uuid.uuid4(), email=email, display_name=email.split("@")[0], password_hash="x",
        kind=kind, **extra,
    )  # fmt: skip


# --------------------------------------------------------------------------- fan-out


async def seed_fanout(environments: int) -> tuple[Any, Any]:
    """An owner with a group of `environments` environments. Returns (owner, group)."""
    from models import (
        AccountKind,
        Environment,
        EnvironmentGroup,
        EnvironmentStatus,
        GroupEnvironment,
    )

    owner = await _account(f"owner-{_tag()}@bench.example", AccountKind.FULL)
    group = await EnvironmentGroup.create(
        id=uuid.uuid4(), owner_id=owner.id, name="Fan-out", parent_id=None, parent_slot=""
    )
    envs = [
        Environment(id=uuid.uuid4(), owner_id=owner.id, created_by_id=owner.id,
                    name=f"env-{i:05d}", display_name=f"Env {i}",
                    status=EnvironmentStatus.RUNNING, name_slot="")
        for i in range(environments)
    ]  # fmt: skip
    await Environment.bulk_create(envs, batch_size=500)
    await GroupEnvironment.bulk_create(
        [GroupEnvironment(id=uuid.uuid4(), group_id=group.id, environment_id=e.id) for e in envs],
        batch_size=500,
    )
    return owner, group


async def share_group(owner: Any, group: Any) -> Any:
    """A new ACTIVE member with a Viewer share of the group. Returns the member."""
    from domain.clock import utcnow
    from domain.policies import BUILT_IN_ROLES
    from models import AccountKind, Member, MemberStatus, Share, ShareRole, ShareTargetType

    collaborator = await _account(f"member-{_tag()}@bench.example", AccountKind.COLLABORATOR)
    member = await Member.create(
        id=uuid.uuid4(), owner_id=owner.id, email=collaborator.email,
        account_id=collaborator.id, status=MemberStatus.ACTIVE, invited_at=utcnow(),
        accepted_at=utcnow(), open_slot=collaborator.email,
    )  # fmt: skip
    share = await Share.create(
        id=uuid.uuid4(), member_id=member.id, target_type=ShareTargetType.GROUP,
        group_id=group.id, target_key=f"group:{group.id}",
    )  # fmt: skip
    viewer = next(r for r in BUILT_IN_ROLES if r.name == "Viewer")
    await ShareRole.create(id=uuid.uuid4(), share_id=share.id, role_id=viewer.id)
    return member


async def run_fanout(
    database_url: str,
    redis_url: str,
    environments: int = 1000,
    rounds: int = 5,
    pipelining: bool = False,
) -> dict:
    """A group share of `environments` environments -> that many emails, beside the floor.

    `pipelining`: the sink advertises PIPELINING, so our worker sends each email's MAIL,
    RCPT and DATA in one write (aiosmtplib, the floor, never pipelines); without it the
    sink is aiosmtpd as it ships and both send one command at a time.

    Each round measures the floor and ours back to back, to the same sink, in an order
    that alternates (floor first in even rounds, ours first in odd ones), so that a busy
    neighbour or a drift of the machine's load weighs on both alike. `ratio` is the median
    of the rounds' own ratios (ours ÷ the floor measured beside it); on a shared machine
    one measurement alone can be off by a factor of two. Ours runs from the commit of the
    job (queueing, the worker's pick-up, the job's queries and rendering included) to the
    last message at the sink; the floor from `connect` to its last message, its messages
    built beforehand. CPU per email is this process's (the worker's, or the floor
    client's), not the sink's or PostgreSQL's.
    """
    from domain import outbox
    from domain.jobs import Job
    from domain.unit_of_work import unit_of_work
    from workers.dispatch import RedisAfterCommit

    ours: list[float] = []
    ours_cpu: list[float] = []
    floors: list[float] = []
    floors_cpu: list[float] = []
    async with running(database_url, redis_url, pipelining) as (settings, sink):
        owner, group = await seed_fanout(environments)
        async with worker_running(settings) as arq_worker:
            await asyncio.sleep(0.6)  # started up: database, relay
            after_commit = RedisAfterCommit(arq_worker.pool, settings)

            async def floor() -> None:
                rate, cpu = await floor_rate(sink, settings, environments)
                floors.append(rate)
                floors_cpu.append(cpu)

            async def ours_once() -> None:
                member = await share_group(owner, group)
                before = sink.received
                cpu = time.process_time()
                started = time.perf_counter()
                async with unit_of_work(after_commit):
                    row = await outbox.add(Job.SHARE_NOTIFICATIONS,
                                           {"member_id": str(member.id)},
                                           owner_id=member.owner_id)  # fmt: skip
                done = await sink.wait_for(before + environments, max(60, environments / 10))
                ours.append(environments / (done - started))
                ours_cpu.append(time.process_time() - cpu)
                arrived = sink.arrivals()[before : before + environments]
                assert len(set(arrived)) == environments, "an environment was announced twice"
                # Untimed: the job's last statements (share notices, DONE) end before the
                # next measurement starts, and no run leaves a row for a later one's relay.
                await _finished(row.id, 60)

            for i in range(rounds):
                for step in (floor, ours_once) if i % 2 == 0 else (ours_once, floor):
                    await step()
    ratios = [o / f for o, f in zip(ours, floors, strict=True)]
    rate, floor_rate_ = statistics.median(ours), statistics.median(floors)
    return {"emails": environments, "rounds": rounds, "sink_offers_pipelining": pipelining,
            "seconds": round(environments / rate, 3), "emails_per_s": round(rate, 1),
            "floor_emails_per_s": round(floor_rate_, 1),
            "ratio": round(statistics.median(ratios), 3),
            "ratio_per_round": [round(r, 3) for r in ratios],
            "ratio_of_medians": round(rate / floor_rate_, 3),
            "cpu_ms_per_email": round(1000 * statistics.median(ours_cpu) / environments, 3),
            "floor_cpu_ms_per_email": round(
                1000 * statistics.median(floors_cpu) / environments, 3),
            "order": "alternating: floor, ours in even rounds; ours, floor in odd ones",
            }  # fmt: skip


async def _finished(outbox_id: uuid.UUID, within: float) -> None:
    from models import OutboxJob, OutboxStatus

    deadline = time.perf_counter() + within
    while not await OutboxJob.exists(id=outbox_id, status=OutboxStatus.DONE):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"outbox job {outbox_id} did not finish in {within} s")
        await asyncio.sleep(0.02)


async def _all_finished(job: Any, within: float) -> None:
    """Waits until no `job` row is PENDING. (Rows other scenarios left, such as the
    invitations of `inviteMember`, are never run here: their arq job ids are taken.)"""
    from models import OutboxJob, OutboxStatus

    deadline = time.perf_counter() + within
    while await OutboxJob.exists(job=job.value, status=OutboxStatus.PENDING):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"outbox jobs still pending after {within} s")
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------- trial expiry


async def seed_trials(members: int, owners: int = 100) -> None:
    """`members` trial accounts past their trial end, each an ACTIVE member of one of
    `owners` owners."""
    from domain.clock import utcnow
    from models import Account, AccountKind, Member, MemberStatus

    tag = _tag()
    ended = utcnow() - timedelta(minutes=5)
    owner_rows = [
        Account(id=uuid.uuid4(), email=f"trial-owner-{tag}-{i}@bench.example",
                display_name=f"Owner {i}", password_hash="x", kind=AccountKind.FULL)
        for i in range(max(1, min(owners, members)))
    ]  # fmt: skip
    trial_rows = [
        Account(id=uuid.uuid4(), email=f"trial-{tag}-{i}@bench.example",
                display_name=f"Trial {i}", password_hash="x", kind=AccountKind.TRIAL,
                trial_ends_at=ended)
        for i in range(members)
    ]  # fmt: skip
    await Account.bulk_create(owner_rows + trial_rows, batch_size=1000)
    now = utcnow()
    await Member.bulk_create(
        [Member(id=uuid.uuid4(), owner_id=owner_rows[i % len(owner_rows)].id, email=a.email,
                account_id=a.id, status=MemberStatus.ACTIVE, invited_at=now, accepted_at=now,
                open_slot=a.email)
         for i, a in enumerate(trial_rows)],
        batch_size=1000,
    )  # fmt: skip


async def run_trial_expiry(database_url: str, redis_url: str, members: int = 10000) -> dict:
    """`members` trials expire: status change timed alone, then their 2 x members emails.

    `status_seconds` runs to the commit of the statuses (what a reader sees);
    `enqueued_seconds` until the cron has also handed its email jobs to arq (this
    process's worker starts on them meanwhile, on the same event loop).
    """
    from domain.jobs import Job
    from workers.dispatch import RedisAfterCommit
    from workers.trials import expire_trials

    committed: list[float] = []

    class Timed(RedisAfterCommit):
        async def versions_committed(
            self, keys: list[str], outbox_id: uuid.UUID | None = None
        ) -> None:
            committed.append(time.perf_counter())
            await super().versions_committed(keys, outbox_id)

        async def jobs_committed(self, job_ids: list[uuid.UUID]) -> None:
            committed.append(time.perf_counter())
            await super().jobs_committed(job_ids)

    async with running(database_url, redis_url) as (settings, sink):
        await seed_trials(members)
        async with worker_running(settings) as arq_worker:
            await asyncio.sleep(0.6)
            before = sink.received
            ctx = {"after_commit": Timed(arq_worker.pool, settings)}
            started = time.perf_counter()
            changed = await expire_trials(ctx)
            status_done = time.perf_counter()
            expected = 2 * changed
            done = await sink.wait_for(before + expected, max(120, expected / 20))
            await _all_finished(Job.TRIAL_EXPIRED_EMAIL, 60)  # untimed: none left for later
        ours = sink.arrivals()[before : before + expected]
        assert len(set(ours)) == expected, "a trial email was sent twice"
    assert changed == members, f"{changed} of {members} memberships expired"
    email_seconds = done - started
    return {"members": changed, "status_seconds": round(min(committed, default=status_done) - started, 3),
            "enqueued_seconds": round(status_done - started, 3), "emails": expected, "email_seconds": round(email_seconds, 3),
            "emails_per_s": round(expected / email_seconds, 1)}  # fmt: skip


# --------------------------------------------------------------------------- command


async def main(args: argparse.Namespace) -> None:
    from domain import migrations

    url = args.database_url or f"sqlite://{Path(tempfile.mkdtemp()) / 'bench.db'}"
    if not args.database_url:
        await migrations.apply(url)
    if args.environments:
        print("fan-out     ", await run_fanout(url, args.redis_url, args.environments))
        print(
            "fan-out, sink offering PIPELINING",
            await run_fanout(url, args.redis_url, args.environments, pipelining=True),
        )
    if args.members:
        print("trial expiry", await run_trial_expiry(url, args.redis_url, args.members))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=1000)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url",
                        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))  # fmt: skip
    asyncio.run(main(parser.parse_args()))
