"""The `collab` console command.

Every refusal at start-up (bad settings, an unusable database, an unreachable Redis, an
unmigrated database) is one line on stderr and exit code 2: see collab/startup.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from collab import startup
from collab.settings import Settings

app = typer.Typer(
    help="collab-gateway: share PaaS environments with collaborators. Settings come from "
    "the environment and an optional .env file (see the README's configuration table).",
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
    from collab import migrations

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
    """Run the gateway (uvicorn). Refuses to start on an unmigrated database."""
    settings = _ready_to_run()
    import uvicorn

    from gateway.app import create_app

    proxies = settings.TRUSTED_PROXIES  # X-Forwarded-For is believed from these only
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=bool(proxies),
                forwarded_allow_ips=proxies or None, ws_max_size=settings.MAX_BODY_BYTES,
                log_level="info", access_log=access_log)  # fmt: skip


@app.command()
def worker() -> None:
    """Run an arq worker (email, fan-out, cron) against REDIS_URL."""
    settings = _ready_to_run()
    from workers.settings import run_worker

    asyncio.run(run_worker(settings))


def _ready_to_run() -> Settings:
    settings = startup.settings()
    startup.check_database(settings.DATABASE_URL)
    startup.check_redis(settings.redis_url)
    from collab import migrations

    try:
        asyncio.run(migrations.check(settings.DATABASE_URL))
    except migrations.UnmigratedDatabase as exc:
        startup.refuse(str(exc))
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
) -> None:
    """Everything in one process for a first try: SQLite, embedded Redis, mail catcher and
    a worker. Settings from the environment and .env win; only unset ones are filled in."""
    settings = startup.settings()
    from collab.devserver import run_dev

    asyncio.run(run_dev(settings, host=host, port=port, redis_port=redis_port,
                        smtp_port=smtp_port, data_dir=Path(settings.COLLAB_DATA_DIR)))  # fmt: skip


if __name__ == "__main__":
    app()
