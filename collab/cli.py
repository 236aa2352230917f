"""The `collab` console command."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from collab.settings import Settings

app = typer.Typer(help="collab-gateway: share PaaS environments with collaborators.",
                  no_args_is_help=True, add_completion=False)  # fmt: skip


@app.command()
def migrate() -> None:
    """Apply the database migrations and sync the policy catalogue (idempotent)."""
    from collab import migrations
    from collab.settings import get_settings

    asyncio.run(migrations.apply(get_settings().DATABASE_URL))
    typer.echo("database is up to date")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Run the gateway (uvicorn)."""
    from gateway.app import create_app
    from gateway.server import serve as run_server

    settings = _configure_logging()
    _require_migrated()
    run_server(create_app(settings), host=host, port=port, grace=settings.SHUTDOWN_GRACE_SECONDS)


@app.command()
def worker() -> None:
    """Run an arq worker against REDIS_URL."""
    from workers.settings import run_worker

    _configure_logging()
    _require_migrated()
    asyncio.run(run_worker())


def _configure_logging() -> Settings:
    from collab import logs
    from collab.settings import get_settings

    settings = get_settings()
    logs.configure(settings.LOG_LEVEL, settings.LOG_FORMAT)
    return settings


def _require_migrated() -> None:
    from collab import migrations
    from collab.settings import get_settings

    try:
        asyncio.run(migrations.check(get_settings().DATABASE_URL))
    except migrations.UnmigratedDatabase as exc:
        typer.echo(f"collab: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def schema() -> None:
    """Print the GraphQL SDL, directives included."""
    from schema.root import sdl

    typer.echo(sdl())


@app.command()
def dev(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    redis_port: int = typer.Option(6390, help="Port for the embedded Redis."),
    smtp_port: int = typer.Option(1025, help="Port for the local mail catcher."),
) -> None:
    """Everything on the embedded default: SQLite, embedded Redis, mail catcher, worker."""
    from collab.devserver import run_dev

    data = Path(os.environ.get("COLLAB_DATA_DIR", "var"))
    asyncio.run(run_dev(host=host, port=port, redis_port=redis_port, smtp_port=smtp_port,
                        data_dir=data))  # fmt: skip


if __name__ == "__main__":
    app()
