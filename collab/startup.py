"""Start-up checks for the `collab` command: a refusal is one clear line and exit code 2.

Misconfiguration (placeholder secrets in production, a DATABASE_URL that does not work, a
Redis nobody answers at) is what an operator fixes by editing settings, so it is said in
their words, never as a traceback.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import NoReturn

from pydantic import ValidationError

from infra.settings import Settings, get_settings

EXIT_REFUSED = 2


def refuse(message: str) -> NoReturn:
    print(f"collab: {message}", file=sys.stderr)
    raise SystemExit(EXIT_REFUSED)


def redact(url: str) -> str:
    """A URL fit for a message: any password replaced by ***."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"


def settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            what = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {what}" if where else what)
        refuse("refusing to start: " + "; ".join(problems))


async def _database_reachable(url: str) -> None:
    from tortoise import Tortoise

    from infra.db import tortoise_config

    await Tortoise.init(config=tortoise_config(url))
    try:
        from tortoise.connection import get_connection

        await get_connection("default").execute_query("SELECT 1")
    finally:
        await Tortoise.close_connections()


async def ensure_database(url: str) -> None:
    try:
        await _database_reachable(url)
    except Exception as exc:
        refuse(f"cannot use DATABASE_URL={redact(url)}: {_one_line(exc)}")


def check_database(url: str) -> None:
    asyncio.run(ensure_database(url))


async def _redis_answers(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def ensure_redis(url: str) -> None:
    try:
        await _redis_answers(url)
    except Exception as exc:
        refuse(f"cannot reach Redis at REDIS_URL={redact(url)}: {_one_line(exc)}")


def check_redis(url: str) -> None:
    asyncio.run(ensure_redis(url))
