"""Tortoise configuration shared by the gateway, the workers, the CLI and the tests."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

MODEL_MODULES = ["models"]
MIGRATIONS_MODULE = "models.migrations"
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 10_000


async def _keep_session(connection: Any) -> None:
    """asyncpg's pool resets every connection it takes back (`SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`): a second round trip
    after every statement outside a transaction, about 15 % of a worker's samples and part
    of every cold request (bench/README.md). We hold no advisory locks, cursors, listeners
    or session settings (`set_config(..., true)` is transaction-local), so there is nothing
    to reset; the pool still rolls back a transaction left open."""


def connection(database_url: str, busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS) -> Any:
    """For PostgreSQL, asyncpg without the per-release reset; for SQLite, WAL, a busy
    timeout and immediate write transactions (infra.sqlite_backend), so a gateway and a
    worker share the file."""
    if not database_url.startswith("sqlite:"):
        config = expand_db_url(database_url)
        if config.get("engine") == "tortoise.backends.asyncpg":
            config.setdefault("credentials", {})["reset"] = _keep_session
        return config
    config = expand_db_url(database_url)
    config["engine"] = "infra.sqlite_backend"
    credentials = config.setdefault("credentials", {})
    credentials.setdefault("journal_mode", "WAL")
    credentials.setdefault("busy_timeout", busy_timeout_ms)
    return config


def tortoise_config(
    database_url: str, busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS
) -> dict[str, Any]:
    return {
        "connections": {"default": connection(database_url, busy_timeout_ms)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _tortoise_orm_from_env() -> dict[str, Any]:
    from infra.settings import get_settings

    settings = get_settings()
    return tortoise_config(settings.DATABASE_URL, settings.SQLITE_BUSY_TIMEOUT_MS)


def __getattr__(name: str) -> Any:
    """`TORTOISE_ORM`, for Tortoise's own CLI (`tortoise -c infra.db.TORTOISE_ORM
    makemigrations`), read from the settings only when asked for, so importing this module
    never fails on bad settings."""
    if name == "TORTOISE_ORM":
        return _tortoise_orm_from_env()
    raise AttributeError(name)
