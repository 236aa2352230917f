"""Applying and checking database migrations (Tortoise's own migration engine)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import Tortoise
from tortoise.migrations import operations as ops
from tortoise.migrations.api import migrate as migrate_api
from tortoise.migrations.executor import MigrationExecutor, PlanStep

from infra.db import MIGRATIONS_MODULE, MODEL_MODULES, tortoise_config


class UnmigratedDatabase(RuntimeError):
    pass


@dataclass(frozen=True)
class Applied:
    """One migration `apply` ran, and what it created (for `collab migrate` to say)."""

    name: str
    tables: int
    columns: int


def _applied(step: PlanStep) -> Applied:
    operations = step.migration.operations
    return Applied(
        name=step.migration.name,
        tables=sum(isinstance(op, ops.CreateModel) for op in operations),
        columns=sum(isinstance(op, ops.AddField) for op in operations),
    )


async def apply(database_url: str) -> list[Applied]:
    """Apply every pending migration, then sync the policy catalogue and built-in roles.
    Returns what was applied (empty: nothing was pending)."""
    from domain.policies import sync_catalogue

    config = tortoise_config(database_url)
    try:
        await Tortoise.init(config=config)
        planned = [_applied(step) for step in await _plan() if not step.backward]
        await Tortoise.close_connections()
        await migrate_api(config=config)
        await Tortoise.close_connections()
        await Tortoise.init(config=config)
        await sync_catalogue()
    finally:
        await Tortoise.close_connections()
    return planned


async def _plan() -> list[PlanStep]:
    from tortoise.connection import get_connection

    apps = {"models": {"models": MODEL_MODULES, "migrations": MIGRATIONS_MODULE}}
    return list(await MigrationExecutor(get_connection("default"), apps).plan())


async def pending() -> list[str]:
    """Names of migrations not yet applied on the current (initialised) connection."""
    return [f"{step.migration.app_label}.{step.migration.name}" for step in await _plan()]


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
