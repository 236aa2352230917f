"""Invitation email latency: `inviteMember`'s answer to the message accepted by SMTP.

The contract's target: while Redis and SMTP are up, an email normally leaves within 2 s of
the change. Measured over HTTP against the running gateway, with one `collab worker`
process on production timings and a real aiosmtpd sink on loopback.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from bench.queries import INVITE
from bench.servers import Server, free_port


class _Arrivals:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            self.at[rcpt.lower()] = time.perf_counter()
        return "250 OK"


async def _wait(arrivals: _Arrivals, emails: list[str], within: float) -> None:
    deadline = time.perf_counter() + within
    while any(e not in arrivals.at for e in emails) and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


async def _invite(client: httpx.AsyncClient, url: str, token: str, email: str) -> None:
    body = {"query": INVITE, "variables": {"email": email}}
    answer = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    errors = answer.json()["data"]["inviteMember"]["errors"]
    if errors:
        raise RuntimeError(f"inviteMember refused: {errors}")


async def _measure(
    base_url: str, token: str, count: int, tag: str, arrivals: _Arrivals
) -> list[float]:
    url = base_url + "/graphql"
    async with httpx.AsyncClient(timeout=30) as client:
        # The first email also waits for the worker to start: not counted.
        first = f"warmup-{tag}@latency.example"
        await _invite(client, url, token, first)
        await _wait(arrivals, [first], 60)
        if first not in arrivals.at:
            raise RuntimeError("the worker delivered no email within 60 s")
        sent: dict[str, float] = {}
        for i in range(count):
            email = f"latency-{tag}-{i}@latency.example"
            await _invite(client, url, token, email)
            sent[email] = time.perf_counter()
            await asyncio.sleep(0.05)
        await _wait(arrivals, list(sent), 30)
    return sorted(arrivals.at[e] - t for e, t in sent.items() if e in arrivals.at)


def measure_email_latency(gateway: Server, env: dict[str, str], token: str, count: int,
                          tag: str) -> dict[str, Any]:  # fmt: skip
    """Start a sink and a worker (same database, Redis and prefix as `gateway`), invite
    `count` people one after another and report the latency distribution."""
    arrivals = _Arrivals()
    smtp = Controller(arrivals, hostname="127.0.0.1", port=free_port())
    smtp.start()
    worker_env = {**env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_TLS": "false"}
    worker = Server("worker", [sys.executable, "-m", "collab.cli", "worker"], worker_env, 0)
    try:
        latencies = asyncio.run(_measure(gateway.base_url, token, count, tag, arrivals))
    finally:
        worker.process.terminate()
        try:
            worker.process.wait(15)
        except subprocess.TimeoutExpired:
            worker.process.kill()
        worker.stop()
        smtp.stop()
    if not latencies:
        return {"sent": count, "arrived": 0}
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    return {
        "sent": count, "arrived": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(q[18] * 1000, 1), "max_ms": round(latencies[-1] * 1000, 1),
        "target_ms": 2000,
    }  # fmt: skip
