"""The `collab` console command.

Every refusal at start-up (bad settings, an unusable database, an unreachable Redis, an
unmigrated database) is one line on stderr and exit code 2: see collab/startup.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import typer

from collab import startup
from infra.settings import Settings

T = TypeVar("T")

app = typer.Typer(
    help="collab-gateway: share PaaS environments with collaborators. Settings come from "
    "the environment and an optional .env file (every setting: docs/operations.md).",
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    pretty_exceptions_enable=False,
)  # fmt: skip


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@app.command()
def migrate() -> None:
    """Apply pending database migrations, then sync the policy catalogue and built-in
    roles. Safe to run again: it says when nothing was pending."""
    settings = startup.settings()
    startup.check_database(settings.DATABASE_URL)
    from domain import migrations

    applied = asyncio.run(migrations.apply(settings.DATABASE_URL))
    for step in applied:
        parts = [_plural(step.tables, "table")] if step.tables else []
        parts += [_plural(step.columns, "column")] if step.columns else []
        typer.echo(f"applied {step.name}" + (f": {', '.join(parts)}" if parts else ""))
    if not applied:
        typer.echo("nothing to apply: the database is up to date")
    typer.echo("policy catalogue and built-in roles are in sync")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0: all)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    access_log: bool = typer.Option(True, help="Log every request (off for benchmarks)."),
) -> None:
    """Run the gateway (uvicorn). Refuses to start on an unmigrated database. SIGTERM
    drains it: see gateway/server.py."""
    settings = _ready_to_run()
    from gateway.app import create_app
    from gateway.server import forwarded_options
    from gateway.server import serve as run_server

    run_server(create_app(settings), host=host, port=port,
               grace=settings.GATEWAY_SHUTDOWN_GRACE_SECONDS, access_log=access_log,
               ws_max_size=settings.MAX_BODY_BYTES,
               **forwarded_options(settings.TRUSTED_PROXIES))  # fmt: skip


@app.command()
def worker(
    check: bool = typer.Option(
        False,
        "--check",
        help="Exit 0 if this host's worker is alive (a fresh heartbeat "
        "file, WORKER_HEARTBEAT_FILE), 1 otherwise: for container health checks.",
    ),
) -> None:
    """Run an arq worker (email, fan-out, cron) against REDIS_URL."""
    if check:
        from workers.health import heartbeat_fresh

        raise typer.Exit(0 if heartbeat_fresh(startup.settings().WORKER_HEARTBEAT_FILE) else 1)
    settings = _ready_to_run()
    from workers.settings import run_worker

    if settings.WORKER_METRICS_PORT:
        from infra import metrics

        metrics.serve_http(settings.WORKER_METRICS_PORT)
    asyncio.run(run_worker(settings))


def _ready_to_run() -> Settings:
    settings = startup.settings()
    startup.check_database(settings.DATABASE_URL)
    startup.check_redis(settings.redis_url)
    from domain import migrations

    try:
        asyncio.run(migrations.check(settings.DATABASE_URL))
    except migrations.UnmigratedDatabase as exc:
        startup.refuse(str(exc))
    from infra import logs

    # After the checks: a refusal stays one plain line on stderr.
    logs.configure(settings.LOG_LEVEL, settings.LOG_FORMAT)
    return settings


@app.command()
def schema() -> None:
    """Print the GraphQL SDL, directives included."""
    from schema.root import sdl

    typer.echo(sdl())


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def bench(ctx: typer.Context) -> None:
    """Run the benchmarks from a source checkout (`collab bench --help`: its options)."""
    import sys

    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / "bench" / "run.py").exists():
        typer.echo("collab: the benchmarks ship with the source tree, not the package", err=True)
        raise typer.Exit(2)
    sys.path.insert(0, str(checkout))
    from bench.run import main

    raise typer.Exit(main(list(ctx.args)))


@app.command("paas-sim")
def paas_sim(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (keep it loopback)."),
    port: int = typer.Option(8090, help="Port to listen on."),
    token: str = typer.Option("", help="The session token it accepts (default: PAAS_TOKEN)."),
) -> None:
    """Run a small platform simulator speaking the platform API (CONTRACT section 6), with
    fault switches at /_sim/faults: for development and tests, never production."""
    import uvicorn

    from collab.paas_sim import create_app as create_sim

    secret = token or startup.settings().PAAS_TOKEN or "dev-paas-token"
    typer.echo(f"collab paas-sim: http://{host}:{port} (token {secret!r})")
    uvicorn.run(create_sim(secret), host=host, port=port, log_level="warning")


@app.command()
def dev(
    host: str = typer.Option("127.0.0.1", help="Interface the gateway listens on."),
    port: int = typer.Option(8000, help="Port of the gateway (GraphiQL, pages, /dev/mail)."),
    redis_port: int = typer.Option(
        6390, help="Port for the embedded Redis (used only when REDIS_URL is unset)."
    ),
    smtp_port: int = typer.Option(
        1025, help="Port for the local mail catcher (used only when SMTP_HOST is unset)."
    ),
    paas_sim: bool = typer.Option(
        False,
        "--paas-sim",
        help="Also run the platform simulator and use it (PAAS_BACKEND=http) unless "
        "PAAS_BACKEND is set.",
    ),
    paas_sim_port: int = typer.Option(8090, help="Port of the platform simulator."),
) -> None:
    """Everything in one process for a first try: SQLite, embedded Redis, mail catcher and
    a worker. Settings from the environment and .env win; only unset ones are filled in."""
    settings = startup.settings()
    from collab.devserver import run_dev

    asyncio.run(run_dev(settings, host=host, port=port, redis_port=redis_port,
                        smtp_port=smtp_port, data_dir=Path(settings.COLLAB_DATA_DIR),
                        paas_sim_port=paas_sim_port if paas_sim else None))  # fmt: skip


outbox_app = typer.Typer(help="Outbox jobs the workers have not finished: list, retry.")
app.add_typer(outbox_app, name="outbox")


@outbox_app.callback(invoke_without_command=True)
def outbox(
    ctx: typer.Context,
    status: str = typer.Option("pending,failed,in-doubt",
                               help="Comma-separated: pending, failed, in-doubt."),
    limit: int = typer.Option(100, min=1, max=10_000, help="At most this many of each kind."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:  # fmt: skip
    """List pending (and retrying), failed and in-doubt jobs, oldest first."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from collab import outbox_admin

    wanted = {s.strip().lower() for s in status.split(",") if s.strip()}
    rows = asyncio.run(_with_database(lambda: outbox_admin.listing(wanted, limit)))
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row.as_dict()))
        return
    if not rows:
        typer.echo("nothing pending, failed or in doubt")
        return
    typer.echo(f"{'id':36}  {'job':20} {'status':9} {'tries':>5}  {'created (UTC)':19}  last error")
    for row in rows:
        created = row.created_at.strftime("%Y-%m-%d %H:%M:%S") if row.created_at else "-"
        error = (row.last_error or "").replace("\n", " ")[:80]
        typer.echo(
            f"{row.id:36}  {row.job:20} {row.status:9} {row.attempts:>5}  {created:19}  {error}"
        )


@outbox_app.command("retry")
def outbox_retry(job_id: str = typer.Argument(..., help="The outbox job id.")) -> None:
    """Put a failed (or backing-off) job back in the queue, due now."""
    from collab import outbox_admin

    _outbox_action(lambda: outbox_admin.retry(job_id))


@outbox_app.command("resend-email")
def outbox_resend_email(key: str = typer.Argument(..., help="The in-doubt email's key.")) -> None:
    """Send an in-doubt email again (it may then arrive twice)."""
    from collab import outbox_admin

    _outbox_action(lambda: outbox_admin.resend_email(key))


@outbox_app.command("dismiss-email")
def outbox_dismiss_email(key: str = typer.Argument(..., help="The in-doubt email's key.")) -> None:
    """Record an in-doubt email as sent (its recipient confirmed it arrived)."""
    from collab import outbox_admin

    _outbox_action(lambda: outbox_admin.dismiss_email(key))


def _outbox_action(action: Callable[[], Awaitable[str]]) -> None:
    from collab import outbox_admin

    try:
        typer.echo(asyncio.run(_with_database(action)))
    except outbox_admin.RetryRefused as exc:
        typer.echo(f"collab: {exc}", err=True)
        raise typer.Exit(1) from None


audit_app = typer.Typer(help="The audit log.")
app.add_typer(audit_app, name="audit")


@audit_app.command("export")
def audit_export(
    owner: str = typer.Option(..., help="The owner's account id or email."),
    since: datetime = typer.Option(..., help="ISO 8601 start, inclusive (UTC if no offset)."),
    until: datetime | None = typer.Option(None, help="ISO 8601 end, exclusive."),
    fmt: str = typer.Option("jsonl", "--format", help="csv or jsonl."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default stdout)."),
) -> None:
    """Export one owner's audit entries of a period, oldest first."""
    import sys

    from collab import audit_export as export

    if fmt not in ("csv", "jsonl"):
        typer.echo("collab: --format must be csv or jsonl", err=True)
        raise typer.Exit(2)
    start, end = _utc(since), _utc(until) if until else None
    if end is not None and end <= start:
        typer.echo("collab: --until must be after --since", err=True)
        raise typer.Exit(2)

    async def write() -> int:
        owner_id = await export.owner_id(owner)
        out = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
        count = 0
        try:
            if fmt == "csv":
                out.write(export.csv_header())
            async for entry in export.entries(owner_id, start, end):
                out.write(export.as_csv(entry) if fmt == "csv" else export.as_jsonl(entry))
                count += 1
        finally:
            if output:
                out.close()
        return count

    try:
        count = asyncio.run(_with_database(write))
    except export.UnknownOwner as exc:
        typer.echo(f"collab: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"exported {count} audit entr{'y' if count == 1 else 'ies'}", err=True)


@app.command()
def check() -> None:
    """Check the configuration and that the database, Redis and SMTP answer.

    Exit codes: 0 all fine, 3 configuration, 4 database unreachable, 5 not migrated,
    6 Redis unreachable, 7 SMTP unreachable or login refused (the first failure).
    """
    from collab import checks

    settings, config = checks.load_settings()
    results = [config]
    if settings is not None:
        results += asyncio.run(checks.run(settings))
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        typer.echo(f"{mark} {result.name:13} {result.detail}")
    raise typer.Exit(checks.exit_code(results))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _with_database(work: Callable[[], Awaitable[T]]) -> T:
    from tortoise import Tortoise

    from infra.db import tortoise_config
    from infra.settings import get_settings

    settings = get_settings()
    await Tortoise.init(
        config=tortoise_config(settings.DATABASE_URL, settings.SQLITE_BUSY_TIMEOUT_MS)
    )
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    app()
