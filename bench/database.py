"""A throw-away PostgreSQL database for one bench run, migrated by the project's own code."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from domain import migrations

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _asyncpg_dsn(url: str) -> str:
    return "postgresql" + url[url.index(":") :]


class BenchDatabase:
    """`collab_bench_<random>` beside the admin database; dropped unless kept."""

    def __init__(self, admin_url: str = DEFAULT_ADMIN_URL) -> None:
        self.admin_url = admin_url
        self.name = f"collab_bench_{uuid.uuid4().hex[:10]}"
        tortoise_url = "postgres" + admin_url[admin_url.index(":") :]  # postgresql:// too
        self.url = _with_database(tortoise_url, self.name)

    async def create(self) -> str:
        conn = await asyncpg.connect(_asyncpg_dsn(self.admin_url))
        try:
            await conn.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await conn.close()
        await migrations.apply(self.url)
        return self.url

    async def drop(self) -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(self.admin_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()
