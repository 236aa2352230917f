"""Benchmark: how long an invitation email takes from the mutation's answer to SMTP.

The contract's target: while Redis and SMTP are up, an email normally leaves within 2 s
of the change. This runs the real app (in process), one real arq worker with production
timings and a real aiosmtpd server on loopback, sends N invitations one after another and
prints the latency distribution (answer of `inviteMember` -> message accepted by SMTP).

    .venv/bin/python bench/email_latency.py --invitations 50

Needs Redis on 127.0.0.1:6379 (or REDIS_URL). Run on demand; not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from aiosmtpd.controller import Controller

from collab import migrations
from collab.settings import Settings
from domain.account_care import mark_email_verified
from gateway.app import create_app
from models import Account
from workers.settings import worker

SIGN_UP = (
    'mutation { signUp(email: "bench-owner@collab.example", password: "bench-password") { token } }'
)
INVITE = "mutation($e: String!) { inviteMember(input: {email: $e}) { errors { code } } }"


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            self.at[rcpt.lower()] = time.perf_counter()
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main(count: int) -> None:
    arrivals = Arrivals()
    smtp = Controller(arrivals, hostname="127.0.0.1", port=free_port())
    smtp.start()
    db = Path(tempfile.mkdtemp()) / "bench.db"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=f"sqlite://{db}",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        REDIS_KEY_PREFIX=f"collab-bench:{uuid.uuid4().hex[:8]}",
        SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_TLS=False,
    )  # fmt: skip
    await migrations.apply(settings.DATABASE_URL)
    app = create_app(settings)
    sent: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        arq_worker = worker(settings, crons=False)
        task = asyncio.create_task(arq_worker.async_run())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = (await client.post("/graphql", json={"query": SIGN_UP})).json()
            headers = {"Authorization": f"Bearer {token['data']['signUp']['token']}"}
            # Owners verify their email before inviting: what the verification page does.
            owner = await Account.get(email="bench-owner@collab.example")
            await mark_email_verified(owner)
            for i in range(count):
                email = f"invitee-{i}@collab.example"
                body = {"query": INVITE, "variables": {"e": email}}
                await client.post("/graphql", json=body, headers=headers)
                sent[email] = time.perf_counter()
                await asyncio.sleep(0.05)
            deadline = time.perf_counter() + 30
            while len(arrivals.at) < count and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await arq_worker.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    smtp.stop()
    latencies = sorted(arrivals.at[e] - t for e, t in sent.items() if e in arrivals.at)
    if not latencies:
        print("no email arrived")
        return
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    print(f"invitation emails: {len(latencies)}/{count} arrived")
    print(f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {q[18] * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms (target: within 2000 ms)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=30)
    asyncio.run(main(parser.parse_args().invitations))
