"""Outages are told by exception type and error code (infra.outages), never by message
text, and every back-off comes from one named policy (infra.retries)."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError, OperationalError

from infra import outages, retries


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _locked_error(tmp_path: Path) -> sqlite3.OperationalError:
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        other.close()
        holder.close()
    raise AssertionError("the second writer got the lock")


def _wrapped(exc: Exception) -> OperationalError:
    """As Tortoise raises driver errors: `OperationalError(exc)` inside the except."""
    try:
        raise exc
    except Exception as inner:
        try:
            raise OperationalError(inner)
        except OperationalError as outer:
            return outer


async def test_a_redis_that_refuses_connections_is_an_outage_of_redis() -> None:
    client = Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=1)
    with pytest.raises(Exception) as raised:
        await client.ping()
    await client.aclose()
    assert outages.unavailable(raised.value)
    assert outages.dependency_of(raised.value) == outages.REDIS


async def test_a_postgres_that_refuses_connections_is_an_outage_of_the_database() -> None:
    with pytest.raises(OSError) as raised:
        await asyncpg.connect(host="127.0.0.1", port=_closed_port(), timeout=1)
    assert outages.unavailable(raised.value)
    assert outages.dependency_of(raised.value) == outages.DATABASE


def test_sqlite_busy_is_an_outage_and_a_lock_even_when_tortoise_wraps_it(tmp_path: Path) -> None:
    error = _locked_error(tmp_path)
    assert error.sqlite_errorcode == sqlite3.SQLITE_BUSY
    for exc in (error, _wrapped(error)):
        assert outages.unavailable(exc) and outages.locked(exc)


@pytest.mark.parametrize(
    ("error", "down"),
    [
        (asyncpg.exceptions.AdminShutdownError("bye"), True),  # 57P01
        (asyncpg.exceptions.CannotConnectNowError("starting"), True),  # 57P03
        (asyncpg.exceptions.TooManyConnectionsError("full"), True),  # 53300
        (asyncpg.exceptions.InterfaceError("connection is closed"), True),
        (asyncpg.exceptions.UniqueViolationError("dup"), False),  # 23505: a bug or a race
        (asyncpg.exceptions.SerializationError("retry"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_postgres_errors_by_sqlstate_class(error: Exception, down: bool) -> None:
    assert outages.unavailable(error) is down
    assert outages.unavailable(_wrapped(error)) is down


@pytest.mark.parametrize(
    "error",
    [
        ValueError("connection refused"),
        RuntimeError("database is locked"),
        IntegrityError("terminating connection"),
    ],
)
def test_message_text_alone_never_makes_an_outage(error: Exception) -> None:
    assert not outages.unavailable(error)
    assert not outages.locked(error)


def test_each_backoff_doubles_up_to_its_cap() -> None:
    assert [retries.OUTAGE.delay(n) for n in range(6)] == [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
    assert retries.OUTAGE.delay(50) == retries.OUTAGE.cap
    assert retries.JOB.delay(1) == 2.0 and retries.JOB.delay(20) == 600.0
    for n in range(1, 8):  # jittered: half to one and a half of the plain pause
        plain = min(retries.LOCK.cap, retries.LOCK.base * 2 ** (n - 1))
        assert 0.5 * plain <= retries.LOCK.delay(n) <= 1.5 * plain


async def test_retry_runs_again_only_what_the_policy_covers() -> None:
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("down")
        return "ok"

    fast = retries.Backoff(base=0.001, cap=0.01)
    assert await retries.retry(flaky, when=outages.unavailable, policy=fast) == "ok"
    assert len(calls) == 3

    async def broken() -> str:
        calls.append(1)
        raise KeyError("a bug")

    calls.clear()
    with pytest.raises(KeyError):
        await retries.retry(broken, when=outages.unavailable, policy=fast)
    assert len(calls) == 1
