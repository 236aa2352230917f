"""bench/workers.py runs end to end at a tiny size (no time is asserted: that is the bench's job)."""

from __future__ import annotations

from tortoise import Tortoise

from bench import workers as bench
from tests.utils import databases


async def test_workers_bench_runs_and_counts_every_email_once(postgres_database, redis_url):
    await databases.reset(postgres_database)
    await Tortoise.close_connections()
    fanout = await bench.run_fanout(postgres_database, redis_url, environments=5, rounds=1)
    assert fanout["emails"] == 5 and fanout["floor_emails_per_s"] > 0 and fanout["ratio"] > 0
    pipelined = await bench.run_fanout(postgres_database, redis_url, environments=5, rounds=1,
                                       pipelining=True)  # fmt: skip
    assert pipelined["emails"] == 5 and pipelined["sink_offers_pipelining"] is True
    trials = await bench.run_trial_expiry(postgres_database, redis_url, members=5)
    assert (trials["members"], trials["emails"]) == (5, 10)
    assert trials["status_seconds"] <= trials["email_seconds"]
