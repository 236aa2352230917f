"""The `collab` console command."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import typer

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
    import uvicorn

    from collab.settings import get_settings
    from gateway.app import create_app

    _require_migrated()
    settings = get_settings()
    proxies = settings.TRUSTED_PROXIES  # X-Forwarded-For is believed from these only
    uvicorn.run(create_app(), host=host, port=port, proxy_headers=bool(proxies),
                forwarded_allow_ips=proxies or None, ws_max_size=settings.MAX_BODY_BYTES,
                log_level="info")  # fmt: skip


@app.command()
def worker() -> None:
    """Run an arq worker against REDIS_URL."""
    from workers.settings import run_worker

    _require_migrated()
    asyncio.run(run_worker())


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
