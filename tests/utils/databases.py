"""Test databases: one migrated SQLite file and one migrated PostgreSQL database per run."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base import executor

from domain import migrations
from domain.policies import sync_catalogue
from infra.db import tortoise_config

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PG_HOST = os.environ.get("TEST_PG_HOST", "postgres@127.0.0.1:5432")


def tables() -> list[str]:
    """Every model's table: a model added later is emptied between tests too."""
    return sorted(m._meta.db_table for m in Tortoise.apps.get_models_iterable())


def create_postgres_database() -> tuple[str, str]:
    name = f"collab_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def _create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(_create())
    return name, f"postgres://{PG_HOST}/{name}"


async def drop_postgres_database_async(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def drop_postgres_database(name: str) -> None:
    asyncio.run(drop_postgres_database_async(name))


def migrate(url: str) -> None:
    executor.EXECUTOR_CACHE.clear()
    asyncio.run(migrations.apply(url))


def sqlite_url(directory: Path) -> str:
    return f"sqlite://{directory / 'collab-test.db'}"


async def reset(url: str) -> None:
    """Empty every table and re-seed the catalogue: each test starts from a new install."""
    # Tortoise caches SQL per connection name; both backends use "default".
    executor.EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(url))
    conn = Tortoise.get_connection("default")
    names = tables()
    if url.startswith("postgres"):
        # DELETE, not TRUNCATE: on tables this small TRUNCATE costs ~20x more (new files
        # for every table, flushed at commit), ~0.1-1 s a test. No table has a sequence to
        # restart; the replica role skips the foreign-key triggers, so order does not matter.
        deletes = "".join(f'DELETE FROM "{table}";' for table in names)
        await conn.execute_script(
            f"BEGIN;SET LOCAL session_replication_role = replica;{deletes}COMMIT;"
        )
    else:
        # Foreign keys are off for the wipe (SQLite ignores the pragma inside a transaction).
        deletes = "".join(f'DELETE FROM "{table}";' for table in names)
        await conn.execute_script(
            f"PRAGMA foreign_keys=OFF;BEGIN;{deletes}COMMIT;PRAGMA foreign_keys=ON;"
        )
    await sync_catalogue()
