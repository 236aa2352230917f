"""`python -m bench.platform_sync`: one owner's inventory sync beside its floor.

Ours: `domain.inventory.sync_owner` for an owner whose platform account (the simulator,
`collab paas-sim`, on loopback) holds N environments, into a fresh, migrated PostgreSQL
database: the first sync (N new environments), a second one (nothing changed) and one
after 1 % of them vanished and 1 % changed status.

The floor, in the same run: the least any sync must do. One `getenvs` over the same HTTP
client, then the N rows written by one `executemany` INSERT over a bare asyncpg
connection (no ORM, no comparison with what is there). Printed side by side with the ratio.
No test asserts a time; `tests/platform/test_inventory.py` checks one `getenvs` call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from tortoise import Tortoise

from bench.database import DEFAULT_ADMIN_URL, BenchDatabase, _asyncpg_dsn
from bench.servers import free_port
from collab import paas_sim
from domain import inventory
from infra.db import tortoise_config
from infra.paas_client import PaasClient
from models import Account

TOKEN = "bench-token"


@contextlib.asynccontextmanager
async def simulator() -> AsyncIterator[tuple[str, paas_sim.Platform]]:
    port = free_port()
    server = paas_sim.embedded(TOKEN, port)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    app: Any = server.config.app
    try:
        yield f"http://127.0.0.1:{port}", app.state.platform
    finally:
        server.should_exit = True
        await task


async def _floor(client: PaasClient, dsn: str, uid: str, owner_id: uuid.UUID) -> float:
    started = time.perf_counter()
    found = await client.getenvs(uid)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO floor_environment (id, owner_id, name, display_name, status) "
            "VALUES ($1, $2, $3, $4, $5)",
            [(uuid.uuid4(), owner_id, e.name, e.display_name, str(e.status)) for e in found],
        )
    finally:
        await conn.close()
    return time.perf_counter() - started


async def run(sizes: list[int], rounds: int, admin_url: str) -> dict[str, Any]:
    database = BenchDatabase(admin_url)
    url = await database.create()
    dsn = _asyncpg_dsn(url)
    results: dict[str, Any] = {}
    await Tortoise.init(config=tortoise_config(url))
    try:
        conn = await asyncpg.connect(dsn)
        await conn.execute(
            "CREATE TABLE floor_environment (id uuid PRIMARY KEY, owner_id uuid, "
            "name varchar(40), display_name varchar(120), status varchar(16))"
        )
        await conn.close()
        async with simulator() as (sim_url, platform):
            client = PaasClient(sim_url, TOKEN, timeout=120)
            for size in sizes:
                ours: dict[str, list[float]] = {"first": [], "unchanged": [], "changes": []}
                floor: list[float] = []
                for r in range(rounds):
                    uid = f"bench-{size}-{r}"
                    for i in range(size):
                        platform.environments[f"{uid}-{i:05d}"[-40:]] = paas_sim.SimEnvironment(
                            uid, f"{uid}-{i:05d}"[-40:], f"Environment {i}", 1 + i % 2
                        )
                    owner = await Account.create(
                        id=uuid.uuid4(), email=f"{uid}@bench.example", password_hash="x",
                        platform_uid=uid,
                    )  # fmt: skip
                    floor.append(await _floor(client, dsn, uid, owner.id))
                    for phase in ("first", "unchanged", "changes"):
                        if phase == "changes":
                            names = sorted(n for n, e in platform.environments.items()
                                           if e.owner_uid == uid)  # fmt: skip
                            for name in names[: max(1, size // 100)]:
                                del platform.environments[name]
                            for name in names[-max(1, size // 100) :]:
                                platform.environments[name].status = 2
                        started = time.perf_counter()
                        report = await inventory.sync_owner(owner, client, None)
                        ours[phase].append(time.perf_counter() - started)
                        if phase == "first":
                            assert report.added == size, report
                medians = {k: statistics.median(v) for k, v in ours.items()}
                results[str(size)] = {
                    "ours_seconds": medians,
                    "floor_seconds": statistics.median(floor),
                    "ratio_first_to_floor": medians["first"] / statistics.median(floor),
                    "runs": {"ours": ours, "floor": floor},
                }
            await client.aclose()
    finally:
        await Tortoise.close_connections()
        await database.drop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.platform_sync")
    parser.add_argument("--sizes", default="5000", help="environments per owner, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--admin-database-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = asyncio.run(run(sizes, args.rounds, args.admin_database_url))
    print(f"{'size':>6} {'floor s':>9} {'first s':>9} {'x floor':>8} {'same s':>8} {'1% s':>8}")
    for size, r in results.items():
        ours = r["ours_seconds"]
        print(f"{size:>6} {r['floor_seconds']:>9.3f} {ours['first']:>9.3f} "
              f"{r['ratio_first_to_floor']:>8.2f} {ours['unchanged']:>8.3f} {ours['changes']:>8.3f}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
