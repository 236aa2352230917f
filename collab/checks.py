"""`collab check`: is this process's configuration sound, and does everything it needs
answer? Each failure has its own exit code, so a deploy script or an orchestrator's
probe can tell what to fix.

| exit | meaning |
|---|---|
| 0 | configuration valid; database, migrations, Redis and SMTP all answer |
| 3 | configuration invalid (the message says which variable) |
| 4 | database unreachable |
| 5 | database reachable but not migrated (run `collab migrate`) |
| 6 | Redis unreachable |
| 7 | SMTP server unreachable, or it refused the configured login |

Every check runs and prints a line; the exit code is the first failure in that order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from infra.settings import Settings

CONFIG, DATABASE, MIGRATIONS, REDIS, SMTP = 3, 4, 5, 6, 7
TIMEOUT = 5.0


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str
    exit_code: int


def load_settings() -> tuple[Settings | None, Result]:
    from pydantic import ValidationError

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        return None, Result("configuration", False, problems, CONFIG)
    return settings, Result("configuration", True, f"ENVIRONMENT={settings.ENVIRONMENT}", CONFIG)


async def _database(settings: Settings) -> list[Result]:
    from tortoise import Tortoise

    from domain import migrations
    from infra.db import tortoise_config

    try:
        # wait_for runs it in another task: the global fallback lets this one see it.
        config = tortoise_config(settings.DATABASE_URL, settings.SQLITE_BUSY_TIMEOUT_MS)
        await asyncio.wait_for(Tortoise.init(config=config, _enable_global_fallback=True), TIMEOUT)
        from tortoise.connection import get_connection

        await asyncio.wait_for(get_connection("default").execute_query("SELECT 1"), TIMEOUT)
    except Exception as exc:
        await Tortoise.close_connections()
        return [Result("database", False, f"{type(exc).__name__}: {exc}", DATABASE)]
    try:
        missing = await migrations.pending()
    finally:
        await Tortoise.close_connections()
    where = settings.DATABASE_URL.split("@")[-1]  # no password in the output
    found = [Result("database", True, where, DATABASE)]
    if missing:
        found.append(Result("migrations", False, "pending: " + ", ".join(missing), MIGRATIONS))
    else:
        found.append(Result("migrations", True, "up to date", MIGRATIONS))
    return found


async def _redis(settings: Settings) -> list[Result]:
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url, socket_connect_timeout=TIMEOUT,
                            socket_timeout=TIMEOUT)  # fmt: skip
    try:
        await client.ping()
    except Exception as exc:
        return [Result("redis", False, f"{type(exc).__name__}: {exc}", REDIS)]
    finally:
        await client.aclose()
    return [Result("redis", True, settings.redis_url.split("@")[-1], REDIS)]


async def _smtp(settings: Settings) -> list[Result]:
    import aiosmtplib

    implicit_tls = settings.SMTP_TLS and settings.SMTP_PORT == 465
    client = aiosmtplib.SMTP(
        hostname=settings.SMTP_HOST, port=settings.SMTP_PORT, timeout=TIMEOUT,
        use_tls=implicit_tls, start_tls=bool(settings.SMTP_TLS and not implicit_tls),
        username=settings.SMTP_USER or None,
        password=settings.SMTP_PASSWORD if settings.SMTP_USER else None,
    )  # fmt: skip
    try:
        await client.connect()
        await client.noop()
        await client.quit()
    except Exception as exc:
        client.close()
        return [Result("smtp", False, f"{type(exc).__name__}: {exc}", SMTP)]
    return [Result("smtp", True, f"{settings.SMTP_HOST}:{settings.SMTP_PORT}", SMTP)]


CHECKS: list[Callable[[Settings], Awaitable[list[Result]]]] = [_database, _redis, _smtp]


async def run(settings: Settings) -> list[Result]:
    results: list[Result] = []
    for check in CHECKS:
        results += await check(settings)
    return results


def exit_code(results: list[Result]) -> int:
    return next((r.exit_code for r in results if not r.ok), 0)
