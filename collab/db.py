"""Tortoise configuration shared by the gateway, the workers, the CLI and the tests."""

from __future__ import annotations

from typing import Any

MODEL_MODULES = ["models"]
MIGRATIONS_MODULE = "models.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
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
    from collab.settings import get_settings

    return tortoise_config(get_settings().DATABASE_URL)


def __getattr__(name: str) -> Any:
    """`TORTOISE_ORM`, for Tortoise's own CLI (`tortoise -c collab.db.TORTOISE_ORM
    makemigrations`), read from the settings only when asked for, so importing this module
    never fails on bad settings."""
    if name == "TORTOISE_ORM":
        return _tortoise_orm_from_env()
    raise AttributeError(name)
