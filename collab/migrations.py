"""Applying and checking database migrations (Tortoise's own migration engine)."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.api import migrate as migrate_api
from tortoise.migrations.executor import MigrationExecutor

from collab.db import MIGRATIONS_MODULE, MODEL_MODULES, tortoise_config


class UnmigratedDatabase(RuntimeError):
    pass


async def apply(database_url: str) -> None:
    """Apply every migration, then sync the policy catalogue and built-in roles."""
    from domain.policies import sync_catalogue

    config = tortoise_config(database_url)
    try:
        await migrate_api(config=config)
        await Tortoise.close_connections()
        await Tortoise.init(config=config)
        await sync_catalogue()
    finally:
        await Tortoise.close_connections()


async def pending() -> list[str]:
    """Names of migrations not yet applied on the current (initialised) connection."""
    from tortoise.connection import get_connection

    apps = {"models": {"models": MODEL_MODULES, "migrations": MIGRATIONS_MODULE}}
    executor = MigrationExecutor(get_connection("default"), apps)
    return [f"{step.migration.app_label}.{step.migration.name}" for step in await executor.plan()]


async def ensure_migrated() -> None:
    missing = await pending()
    if missing:
        raise UnmigratedDatabase(
            "The database is not migrated (pending: " + ", ".join(missing) + "). "
            "Run `collab migrate` first."
        )


async def check(database_url: str) -> None:
    """Refuse early, with a clear message, to run a process on an unmigrated database."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await ensure_migrated()
    finally:
        await Tortoise.close_connections()
