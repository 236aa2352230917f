"""Test databases: one migrated SQLite file and one migrated PostgreSQL database per run."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base import executor

from collab import migrations
from collab.db import tortoise_config
from domain.policies import sync_catalogue

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PG_HOST = os.environ.get("TEST_PG_HOST", "postgres@127.0.0.1:5432")

# Children first, so SQLite's foreign keys never object.
TABLES = [
    "share_notice", "sent_email", "outbox_job", "audit_entry", "share_role", "share",
    "invitation_token", "member", "environment_operation", "group_environment",
    "environment_group", "environment", "role_policy", "role", "policy", "session", "account",
]  # fmt: skip


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


def drop_postgres_database(name: str) -> None:
    async def _drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(_drop())


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
    if url.startswith("postgres"):
        await conn.execute_script(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES) + " RESTART IDENTITY CASCADE"
        )
    else:
        # Nested groups reference their parent (RESTRICT, checked per row): unlink first.
        deletes = 'UPDATE "environment_group" SET "parent_id" = NULL;' + "".join(
            f'DELETE FROM "{table}";' for table in TABLES
        )
        await conn.execute_script(f"BEGIN;{deletes}COMMIT;")
    await sync_catalogue()
