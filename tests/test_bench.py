"""The bench (`python -m bench`) works end to end at its smallest size.

It proves the harness runs and reports every scenario; no test asserts a time.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bench.load import Target, run_load
from bench.servers import start_floors
from tests.conftest import missing_service, port_open
from tests.utils.databases import PG_ADMIN_DSN

ROOT = Path(__file__).resolve().parents[1]
CONCURRENT = {"dashboard_cold", "graphql_core_floor", "dashboard_warm", "bare_starlette_floor",
              "members", "environments", "dashboard_20_owners", "invite_member"}  # fmt: skip
SEQUENTIAL = {"dashboard_cold", "graphql_core_floor", "dashboard_warm", "bare_starlette_floor",
              "graphql_core_in_process"}  # fmt: skip
RATIOS = {"cold_sequential_vs_graphql_core", "cold_sequential_vs_graphql_core_in_process",
          "cold_cpu_vs_graphql_core_cpu", "warm_cpu_vs_bare_starlette_cpu",
          "cold_rps_vs_graphql_core_rps", "warm_rps_vs_bare_starlette_rps", "warm_p95_ms"}  # fmt: skip

pytestmark = pytest.mark.slow


def _database_exists(name: str) -> bool:
    async def check() -> bool:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
        finally:
            await conn.close()

    return asyncio.run(check())


def test_smoke_run_reports_every_scenario_and_cleans_up(tmp_path: Path, redis_url: str) -> None:
    if not port_open("127.0.0.1", 5432):
        missing_service("PostgreSQL on 127.0.0.1:5432")
    output, plot = tmp_path / "results.json", tmp_path / "latency.png"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output), "--plot", str(plot),
         "--redis-url", redis_url, "--admin-database-url", PG_ADMIN_DSN],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    results = json.loads(output.read_text())
    assert results["meta"]["smoke"] is True
    size = results["sizes"]["100"]
    assert set(size["concurrent"]) == CONCURRENT
    for name, run in size["concurrent"].items():
        assert run["requests"] > 0, name
        assert run["errors"] == 0, name
        assert run["bytes_per_response"] > 0, name
    assert set(size["sequential"]) == SEQUENTIAL
    assert all(run["p50_ms"] > 0 for run in size["sequential"].values())
    assert set(size["ratios"]) == RATIOS
    assert all(isinstance(value, float) for value in size["ratios"].values())
    assert set(size["statements"]) == {
        "dashboard",
        "members",
        "environments",
        "dashboard_20_owners",
    }
    assert all(count > 0 for count in size["statements"].values())
    assert set(size["workers"]) == {"fanout", "fanout_pipelining", "trial_expiry"}
    assert size["workers"]["fanout_pipelining"]["sink_offers_pipelining"] is True
    assert results["email_latency"]["arrived"] == results["email_latency"]["sent"] == 1
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The report names every scenario, and the run's database is gone.
    for label in ("dashboard, cold (ours)", "graphql-core floor", "bare Starlette floor",
                  "inviteMember"):  # fmt: skip
        assert label in done.stdout
    name = re.search(r"creating and migrating (collab_bench_\w+)", done.stdout)
    assert name is not None
    assert not _database_exists(name.group(1))


@pytest.mark.parametrize("client", ["python", "wrk"])
def test_load_clients_count_every_answer_of_a_known_size(tmp_path: Path, client: str) -> None:
    if client == "wrk" and not shutil.which("wrk"):
        pytest.skip("wrk is not installed (apt-get install wrk); the bench falls back to Python")
    body = json.dumps({"data": {"sharedWithMe": []}})
    data = {"sdl": "type Query { sharedWithMe: [String!]! }",
            "sizes": {"1": {"data": {"sharedWithMe": []}, "body": body}}}  # fmt: skip
    (tmp_path / "floor.json").write_text(json.dumps(data))
    floors = start_floors(str(tmp_path / "floor.json"))
    try:
        query = json.dumps({"query": "{ sharedWithMe }"})
        bare = run_load(Target(f"{floors.base_url}/bare/1", query), connections=2, duration=1,
                        client=client)  # fmt: skip
        core = run_load(Target(f"{floors.base_url}/graphql-core/1", query), connections=2,
                        duration=1, client=client)  # fmt: skip
        missing = run_load(Target(f"{floors.base_url}/bare/2", query), connections=1, duration=1,
                           client=client)  # fmt: skip
    finally:
        floors.stop()
    assert bare.requests > 0 and bare.errors == 0
    assert core.requests > 0 and core.errors == 0
    assert bare.p50_ms > 0 and bare.p99_ms >= bare.p50_ms
    assert missing.errors >= missing.requests > 0  # an unknown size is a 500: counted


def test_collab_bench_runs_the_bench_from_the_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "collab"
    if not script.exists():
        pytest.skip("the collab console script is not installed in this environment")
    done = subprocess.run([str(script), "bench", "--help"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--sizes" in done.stdout and "--smoke" in done.stdout
