"""`python -m bench`: seed PostgreSQL, load the gateway over HTTP beside its floors, report.

Ours and the floors are measured in the same run and alternately (round by round), so a
busy neighbour on a shared machine slows both rather than only one of them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import inspect
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import queries
from bench.database import DEFAULT_ADMIN_URL, BenchDatabase
from bench.load import LoadResult, Target, available_client, run_load
from bench.report import print_report, write_plot
from bench.seed import SizeFixture
from bench.servers import Server, start_floors, start_gateway

HERE = Path(__file__).resolve().parent
NO_CACHE = {"Cache-Control": "no-cache"}

# Scenario names, as they appear in results.json.
DASHBOARD_TARGETS = (
    "dashboard_cold",
    "graphql_core_floor",
    "dashboard_warm",
    "bare_starlette_floor",
)
OTHER_SCENARIOS = ("members", "environments", "dashboard_20_owners", "invite_member")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="100,1000,5000",
        help="environments per owner, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=10.0,
        help="seconds per measured run at --connections clients",
    )
    parser.add_argument(
        "--sequential-duration",
        type=float,
        default=5.0,
        help="seconds per one-request-at-a-time run",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="alternations of ours and the floors per size (medians reported)",
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--min-requests",
        type=int,
        default=64,
        help="a concurrent run lasts long enough for about this many answers",
    )
    parser.add_argument(
        "--max-duration",
        type=float,
        default=120.0,
        help="upper bound of a concurrent run's length, in seconds",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds after which a request counts as timed out (an error)",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk if installed (auto), else bench.client",
    )
    parser.add_argument(
        "--admin-database-url",
        default=os.environ.get("BENCH_ADMIN_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="PostgreSQL database to create the bench's from",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--members",
        type=int,
        default=300,
        help="members (with shares) of the owner in the `members` scenario",
    )
    parser.add_argument(
        "--trial-members",
        type=int,
        default=10_000,
        help="collaborators for the trial-expiry scenario (bench.workers)",
    )
    parser.add_argument(
        "--email-invitations",
        type=int,
        default=20,
        help="invitations for the email-latency check (0 skips it)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy samples our server during the first round of each of our scenarios "
        "(collapsed stacks in --profile-dir, a summary in results.json)",
    )
    parser.add_argument("--profile-dir", type=Path, default=HERE / "profiles")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (its URL is printed)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="smallest size, 1-second runs, one round: proves the bench works",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated scenarios to run, e.g. dashboard_warm (its floor comes along; "
        f"one of {', '.join(SCENARIOS)}); skips the email latency and the workers, writes "
        "bench/results-partial.json unless --output is given, and no plot",
    )
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=HERE / "dashboard_latency.png")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in str(args.only).split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if args.output is None:
        args.output = HERE / ("results-partial.json" if args.only else "results.json")
    args.sizes = sorted({int(s) for s in str(args.sizes).split(",") if s.strip()})
    if args.smoke:
        args.sizes = args.sizes[:1]
        args.duration = args.sequential_duration = 1.0
        args.connections, args.min_requests, args.max_duration = 2, 2, 3.0
        args.rounds, args.members = 1, 30
        args.trial_members = min(args.trial_members, 100)
        args.email_invitations = min(args.email_invitations, 1)
    return args  # fmt: skip


# Our scenarios, and the floor each is measured beside.
SCENARIOS = {
    "dashboard_cold": "graphql_core_floor", "dashboard_warm": "bare_starlette_floor",
    "members": None, "environments": None, "dashboard_20_owners": None, "invite_member": None,
}  # fmt: skip


def _selected(args: argparse.Namespace, name: str) -> bool:
    """Whether a scenario (or a floor) runs: all of them unless --only names some."""
    if not args.only:
        return True
    return name in args.only or any(SCENARIOS[s] == name for s in args.only)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A terminated bench still stops its servers and drops its database (finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    client = available_client(args.client)
    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "client": client, "connections": args.connections, "duration_s": args.duration,
            "timeout_s": args.timeout,
            "sequential_duration_s": args.sequential_duration, "rounds": args.rounds,
            "sizes": args.sizes, "smoke": args.smoke, "cpus": os.cpu_count(),
            "only": args.only,
            # uvicorn's "auto" picks these when installed, for `collab serve` as for the floors.
            "uvicorn_loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
            "uvicorn_http": "httptools" if importlib.util.find_spec("httptools") else "h11",
            "python": platform.python_version(), "database": "postgresql",
            "load_average_at_start": os.getloadavg(),
        },
        "sizes": {},
    }  # fmt: skip
    if client == "python":
        print("bench: wrk not found, using the Python load client (floors will read lower)")
    database = BenchDatabase(args.admin_database_url)
    print(f"bench: creating and migrating {database.name}")
    asyncio.run(database.create())
    prefix = f"collab-bench:{uuid.uuid4().hex[:8]}"
    servers: list[Server] = []
    floor_file: str | None = None
    try:
        started = time.perf_counter()
        fixtures, statements = asyncio.run(_seed(database.url, args.sizes, args.members))
        print(f"bench: seeded sizes {args.sizes} in {time.perf_counter() - started:.1f} s")
        env = {
            "DATABASE_URL": database.url,
            "REDIS_URL": args.redis_url,
            "REDIS_KEY_PREFIX": prefix,
        }
        cold = start_gateway("cold", database.url, args.redis_url, prefix, cache=False)
        servers.append(cold)
        warm = start_gateway("warm", database.url, args.redis_url, prefix, cache=True)
        servers.append(warm)
        for server in (cold, warm):
            server.wait_ready("/readyz")
        floor_data, answers = _capture_dashboards(cold, warm, fixtures)
        floor_file = _write_floor_data(floor_data)
        floors = start_floors(floor_file)
        servers.append(floors)
        _check_floors(floors, answers)
        if args.email_invitations and not args.only:
            results["email_latency"] = _email_latency(warm, env, fixtures[0], args)
        for fixture in fixtures:
            print(f"bench: measuring size {fixture.size}")
            results["sizes"][str(fixture.size)] = _measure_size(
                fixture, cold, warm, floors, floor_file, answers[fixture.size], client, args
            ) | {"statements": statements[fixture.size], "seeded_rows": fixture.counts}
            # Written after every size: a run stopped early keeps what it measured.
            args.output.write_text(json.dumps(results, indent=2) + "\n")
        if not args.only:
            _run_workers(results, database.url, args)
    finally:
        for server in reversed(servers):
            server.stop()
        if floor_file is not None:
            os.unlink(floor_file)
        asyncio.run(_forget_redis_keys(args.redis_url, prefix))
        if args.keep:
            print(f"bench: kept {database.url}")
        else:
            asyncio.run(database.drop())
    results["meta"]["complete"] = True
    results["meta"]["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["meta"]["load_average_at_end"] = os.getloadavg()
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    print(f"bench: wrote {args.output}")
    if args.only:
        return 0  # a partial run: the plot shows complete runs only
    try:
        write_plot(results, args.plot)
        print(f"bench: wrote {args.plot}")
    except ImportError:
        print("bench: matplotlib is not installed (pip install -e '.[bench]'); no plot")
    return 0


async def _seed(
    url: str, sizes: list[int], members: int
) -> tuple[list[SizeFixture], dict[int, dict[str, int]]]:
    """Write every size, then count each scenario's SQL statements in process."""
    from tortoise import Tortoise

    from bench.seed import seed_size
    from bench.statements import count_statements
    from infra.db import tortoise_config
    from infra.settings import Settings

    await Tortoise.init(config=tortoise_config(url))
    try:
        fixtures = [await seed_size(size, invite_owners=200, members=members) for size in sizes]
        settings = Settings(_env_file=None, DATABASE_URL=url)  # type: ignore[call-arg]
        statements: dict[int, dict[str, int]] = {}
        for f in fixtures:
            statements[f.size] = {
                "dashboard": await count_statements(queries.DASHBOARD, f.dashboard_token, settings),
                "members": await count_statements(queries.MEMBERS, f.owner_token, settings),
                "environments": await count_statements(queries.ENVIRONMENTS, f.owner_token, settings),
                "dashboard_20_owners": await count_statements(queries.DASHBOARD, f.multi_token, settings),
            }  # fmt: skip
        return fixtures, statements
    finally:
        await Tortoise.close_connections()


def _body(query: str) -> str:
    return json.dumps({"query": query, "variables": {}})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _post(base_url: str, path: str, query: str, headers: dict[str, str]) -> httpx.Response:
    answer = httpx.post(base_url + path, content=_body(query), timeout=120,
                        headers={"Content-Type": "application/json", **headers})  # fmt: skip
    answer.raise_for_status()
    return answer


def _capture_dashboards(
    cold: Server, warm: Server, fixtures: list[SizeFixture]
) -> tuple[dict[str, Any], dict[int, httpx.Response]]:
    """Our cold answer per size (for the floors), checked against the warm server's."""
    sizes: dict[str, Any] = {}
    answers: dict[int, httpx.Response] = {}
    for f in fixtures:
        answer = _post(
            cold.base_url, "/graphql", queries.DASHBOARD, _bearer(f.dashboard_token) | NO_CACHE
        )
        payload = answer.json()
        if payload.get("errors") or not payload["data"]["sharedWithMe"]:
            raise RuntimeError(f"dashboard failed at size {f.size}: {str(payload)[:500]}")
        seen = len(payload["data"]["sharedWithMe"][0]["environments"])
        if seen != f.size:
            raise RuntimeError(f"dashboard shows {seen} environments, expected {f.size}")
        for _ in range(2):  # the second one may come from the cache
            again = _post(warm.base_url, "/graphql", queries.DASHBOARD, _bearer(f.dashboard_token))
            if again.json() != payload:
                raise RuntimeError(f"the warm server answered differently at size {f.size}")
        sizes[str(f.size)] = {"data": payload["data"], "body": answer.text}
        answers[f.size] = answer
    from schema.root import sdl

    return {"sdl": sdl(), "sizes": sizes}, answers


def _write_floor_data(data: dict[str, Any]) -> str:
    with tempfile.NamedTemporaryFile("w", prefix="bench-floor-", suffix=".json", delete=False) as f:
        json.dump(data, f)
    return f.name


def _check_floors(floors: Server, answers: dict[int, httpx.Response]) -> None:
    """Both floors answer exactly what we answered: same data, same bytes."""
    for size, answer in answers.items():
        core = _post(floors.base_url, f"/graphql-core/{size}", queries.DASHBOARD, {})
        if core.json() != answer.json():
            raise RuntimeError(f"the graphql-core floor answered differently at size {size}")
        bare = _post(floors.base_url, f"/bare/{size}", queries.DASHBOARD, {})
        if bare.content != answer.content:
            raise RuntimeError(f"the bare floor served other bytes at size {size}")


def _median_result(runs: list[LoadResult]) -> dict[str, Any]:
    numeric = ("requests", "seconds", "requests_per_s", "p50_ms", "p95_ms", "p99_ms",
               "mean_ms", "max_ms", "errors", "timeouts", "bytes_per_response",
               "server_cpu_ms_per_request")  # fmt: skip
    merged: dict[str, Any] = {"client": runs[0].client, "connections": runs[0].connections}
    for name in numeric:
        values = [getattr(r, name) for r in runs if getattr(r, name) is not None]
        if not values:
            merged[name] = None
            continue
        merged[name] = (
            sum(values)
            if name in ("requests", "errors", "timeouts")
            else round(statistics.median(values), 4)
        )
    merged["rounds"] = [asdict(r) for r in runs]
    return merged


def _measure_size(
    f: SizeFixture, cold: Server, warm: Server, floors: Server, floor_file: str,
    answer: httpx.Response, client: str, args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    body = _body(queries.DASHBOARD)
    member = _bearer(f.dashboard_token)
    targets = {
        "dashboard_cold": Target(cold.base_url + "/graphql", body, member | NO_CACHE),
        "graphql_core_floor": Target(f"{floors.base_url}/graphql-core/{f.size}", body),
        "dashboard_warm": Target(warm.base_url + "/graphql", body, member),
        "bare_starlette_floor": Target(f"{floors.base_url}/bare/{f.size}", body),
    }
    targets = {name: target for name, target in targets.items() if _selected(args, name)}
    servers = {"dashboard_cold": cold, "graphql_core_floor": floors, "dashboard_warm": warm,
               "bare_starlette_floor": floors}  # fmt: skip
    concurrent: dict[str, list[LoadResult]] = {name: [] for name in targets}
    profiles: dict[str, Any] = {}
    sequential: dict[str, list[LoadResult]] = {name: [] for name in targets}

    def prime(name: str) -> None:
        """Untimed: the answer in the cache again, should its TTL (300 s) have run out
        during the runs before (at 5,000 environments the cold runs take minutes)."""
        if name == "dashboard_warm":
            _post(warm.base_url, "/graphql", queries.DASHBOARD, member)

    for _ in range(args.rounds):
        for name, target in targets.items():
            prime(name)
            sequential[name].append(_run(servers[name], target, 1, args.sequential_duration,
                                         client, args.timeout))  # fmt: skip
            _progress(f.size, f"{name} (sequential)", sequential[name][-1])
    for round_ in range(args.rounds):
        for name, target in targets.items():
            profile = _profile_path(args, name, f.size) if round_ == 0 else None
            seconds = _duration_for(args, statistics.median(r.p50_ms for r in sequential[name]))
            prime(name)
            concurrent[name].append(_run(servers[name], target, args.connections, seconds,
                                         client, args.timeout, profile, profiles))  # fmt: skip
            _progress(f.size, name, concurrent[name][-1])
    owner = _bearer(f.owner_token)
    others = {
        "members": Target(cold.base_url + "/graphql", _body(queries.MEMBERS), owner | NO_CACHE),
        "environments": Target(cold.base_url + "/graphql", _body(queries.ENVIRONMENTS), owner | NO_CACHE),
        "dashboard_20_owners": Target(cold.base_url + "/graphql", body,
                                      _bearer(f.multi_token) | NO_CACHE),
        "invite_member": Target(warm.base_url + "/graphql", invite_query=queries.INVITE,
                                invite_tokens=f.invite_tokens[1:],
                                invite_tag=f"{f.size}-{uuid.uuid4().hex[:6]}"),
    }  # fmt: skip
    others = {name: target for name, target in others.items() if _selected(args, name)}
    single_ms = _check_queries(cold, f) if others else {}
    servers_of_others = {"members": cold, "environments": cold, "dashboard_20_owners": cold,
                         "invite_member": warm}  # fmt: skip
    for name, target in others.items():
        seconds = _duration_for(args, single_ms.get(name, 0.0))
        concurrent[name] = [_run(servers_of_others[name], target, args.connections, seconds,
                                 client, args.timeout, _profile_path(args, name, f.size),
                                 profiles)]  # fmt: skip
        _progress(f.size, name, concurrent[name][-1])

    conc = {name: _median_result(runs) for name, runs in concurrent.items()}
    seq = {name: _median_result(runs) for name, runs in sequential.items()}
    if _selected(args, "dashboard_cold"):
        from bench.floors import graphql_core_seconds, load_floor_data

        schema, data, _ = load_floor_data(floor_file)
        repeat = 10 if args.smoke else 30
        graphql_core_seconds(schema, queries.DASHBOARD, data[str(f.size)], 1)  # warm-up
        in_process = sorted(
            graphql_core_seconds(schema, queries.DASHBOARD, data[str(f.size)], repeat)
        )
        seq["graphql_core_in_process"] = {
            "runs": repeat, "p50_ms": round(statistics.median(in_process) * 1000, 2),
            "min_ms": round(in_process[0] * 1000, 2),
        }  # fmt: skip
    return {
        "environments": f.size,
        "response_bytes": len(answer.content),
        "concurrent": conc,
        "sequential": seq,
        "ratios": _ratios(conc, seq),
    } | ({"profiles": profiles} if profiles else {})


def _profile_path(args: argparse.Namespace, name: str, size: int) -> Path | None:
    """Only our own server is profiled: the floors are the reference."""
    if not args.profile or name.endswith("_floor"):
        return None
    return Path(args.profile_dir) / f"{name}-{size}.txt"


def _duration_for(args: argparse.Namespace, sequential_ms: float) -> float:
    """Long enough for --min-requests answers from a server that answers one request in
    `sequential_ms` (one process: concurrency does not make it much faster)."""
    needed = args.min_requests * max(sequential_ms, 1.0) / 1000 * 1.2
    return min(max(args.duration, needed), args.max_duration)


def _ratios(conc: dict[str, Any], seq: dict[str, Any]) -> dict[str, float | None]:
    def ratio(runs: dict[str, Any], a: str, b: str, figure: str) -> float | None:
        if a not in runs or b not in runs:  # --only left one of them out
            return None
        top, bottom = runs[a][figure] or 0.0, runs[b][figure] or 0.0
        return round(top / bottom, 3) if bottom else None

    cold, warm = "dashboard_cold", "dashboard_warm"
    core, bare = "graphql_core_floor", "bare_starlette_floor"
    cpu = "server_cpu_ms_per_request"
    return {
        # The cold target: one request at a time within 1.2x of graphql-core's time.
        "cold_sequential_vs_graphql_core": ratio(seq, cold, core, "p50_ms"),
        "cold_sequential_vs_graphql_core_in_process": ratio(
            seq, cold, "graphql_core_in_process", "p50_ms"),
        # The "we run at 0.25 of a GraphQL engine doing no work".
        "cold_rps_vs_graphql_core_rps": ratio(conc, cold, core, "requests_per_s"),
        # The warm target: at least 0.25 of the bare-Starlette floor's requests/s.
        "warm_rps_vs_bare_starlette_rps": ratio(conc, warm, bare, "requests_per_s"),
        "warm_p95_ms": conc[warm]["p95_ms"] if warm in conc else None,
        # Steadier on a busy machine: server CPU per answer, one request at a time.
        "cold_cpu_vs_graphql_core_cpu": ratio(seq, cold, core, cpu),
        "warm_cpu_vs_bare_starlette_cpu": ratio(seq, warm, bare, cpu),
    }  # fmt: skip


def _run(server: Server, target: Target, connections: int, seconds: float,
         client: str, timeout: float, profile: Path | None = None,
         profiles: dict[str, Any] | None = None) -> LoadResult:  # fmt: skip
    """One load run; with `profile`, py-spy samples the server meanwhile."""
    from bench.profile import Profiler

    profiler = Profiler(server.process.pid, profile) if profile else None
    while True:
        cpu = server.cpu_seconds()
        result = run_load(target, connections=connections, duration=seconds, client=client,
                          timeout=timeout)  # fmt: skip
        used = server.cpu_seconds() - cpu
        if result.requests:
            result = replace(
                result, server_cpu_ms_per_request=round(used * 1000 / result.requests, 4)
            )
        server.wait_idle()
        # Not one answer in time (a busy machine): longer, rather than report nothing.
        if result.requests or seconds >= 60:
            break
        seconds *= 3
    if profiler is not None and profile is not None and profiles is not None:
        profiles[profile.stem] = profiler.stop()
    return result


def _check_queries(cold: Server, f: SizeFixture) -> dict[str, float]:
    """The non-dashboard scenarios answer what a user expects before they are timed; also
    how long one answer takes, to size the runs."""
    took: dict[str, float] = {}

    def ask(name: str, query: str, token: str) -> Any:
        _post(cold.base_url, "/graphql", query, _bearer(token) | NO_CACHE)  # warm-up
        started = time.perf_counter()
        answer = _post(cold.base_url, "/graphql", query, _bearer(token) | NO_CACHE).json()
        took[name] = (time.perf_counter() - started) * 1000
        return answer

    members = ask("members", queries.MEMBERS, f.owner_token)
    envs = ask("environments", queries.ENVIRONMENTS, f.owner_token)
    multi = ask("dashboard_20_owners", queries.DASHBOARD, f.multi_token)
    problems = []
    if members.get("errors") or len(members["data"]["members"]) != f.members:
        problems.append(f"members: {str(members)[:300]}")
    if envs.get("errors") or len(envs["data"]["environments"]) != f.size:
        problems.append(f"environments: {str(envs)[:300]}")
    if multi.get("errors") or len(multi["data"]["sharedWithMe"]) != 20:
        problems.append(f"dashboard_20_owners: {str(multi)[:300]}")
    if problems:
        raise RuntimeError("; ".join(problems))
    took["invite_member"] = 100.0  # about; each run sends fresh invitations
    return took


def _progress(size: int, name: str, result: LoadResult) -> None:
    print(f"  {size:>6} {name:<34} {result.requests_per_s:>9.1f} req/s  "
          f"p50 {result.p50_ms:>8.1f}  p95 {result.p95_ms:>8.1f}  p99 {result.p99_ms:>8.1f} ms  "
          f"cpu {result.server_cpu_ms_per_request or 0:.1f} ms/req"
          f"{'  errors ' + str(result.errors) if result.errors else ''}", flush=True)  # fmt: skip


def _email_latency(warm: Server, env: dict[str, str], f: SizeFixture,
                   args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    from bench.email_latency import measure_email_latency

    print(f"bench: invitation email latency ({args.email_invitations} invitations)")
    result = measure_email_latency(warm, env, f.invite_tokens[0], args.email_invitations,
                                   uuid.uuid4().hex[:6])  # fmt: skip
    print(f"  {result}")
    return result


def _run_workers(results: dict[str, Any], database_url: str, args: argparse.Namespace) -> None:
    """Fan-out and trial expiry come from bench.workers (the workers' own bench)."""
    try:
        workers = importlib.import_module("bench.workers")
    except ModuleNotFoundError as exc:
        if exc.name != "bench.workers":
            raise
        notice = "bench.workers is not there yet: fan-out and trial expiry skipped"
        print(f"bench: {notice}")
        for size in results["sizes"].values():
            size["workers"] = {
                name: {"skipped": notice}
                for name in ("fanout", "fanout_pipelining", "trial_expiry")
            }
        return
    for key, size in results["sizes"].items():
        print(f"bench: workers at size {key}")
        size["workers"] = {
            "fanout": _call(workers.run_fanout, database_url, args.redis_url, environments=int(key)),
            "fanout_pipelining": _call(workers.run_fanout, database_url, args.redis_url,
                                       environments=int(key), pipelining=True),
            "trial_expiry": _call(workers.run_trial_expiry, database_url, args.redis_url,
                                  members=args.trial_members),
        }  # fmt: skip
        print(f"  {size['workers']}")


def _call(function: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    result = function(*args, **kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(result)  # type: ignore[arg-type]
    if hasattr(result, "__dataclass_fields__"):
        result = asdict(result)
    return result if isinstance(result, dict) else {"value": result}


async def _forget_redis_keys(url: str, prefix: str) -> None:
    """The run's queue, rate-limit counters and cache entries (its own prefix only)."""
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    finally:
        await redis.aclose()


if __name__ == "__main__":
    sys.exit(main())
