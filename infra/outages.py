"""Riding out a database or Redis that went away: classify, back off, log twice.

`unavailable(exc)` says whether an exception means "a dependency is down or busy"
(refused or dropped connections, PostgreSQL shutting down, SQLite locked) rather than a
bug. `Watch` keeps one line in the log per outage: a warning when it starts and an info
line with its length when it ends, however many calls failed in between; and `delay()`
gives the next capped, doubling back-off.
"""

from __future__ import annotations

import errno
import logging
import socket
import sqlite3
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise.exceptions import DBConnectionError, OperationalError, TransactionManagementError

from infra import metrics

log = logging.getLogger("infra.outages")

DATABASE = "database"
REDIS = "redis"

_MESSAGES = (
    "database is locked",
    "connection is closed",
    "connection was closed",
    "cannot perform operation: another operation is in progress",
    "the database system is",  # starting up / shutting down / in recovery mode
    "terminating connection",
    "server closed the connection",
    "connection refused",
)


_NETWORK_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE,
                   errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ETIMEDOUT}  # fmt: skip


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_postgres_connection_error(exc: BaseException) -> bool:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg ships with tortoise-orm[asyncpg]
        return False
    return isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.CannotConnectNowError
        | asyncpg.exceptions.OperatorInterventionError
        | asyncpg.InterfaceError,
    )


def unavailable(exc: BaseException) -> bool:
    for link in _chain(exc):
        if isinstance(link, ConnectionError | TimeoutError | DBConnectionError | socket.gaierror):
            return True
        if isinstance(link, RedisConnectionError | RedisTimeoutError):
            return True
        if _is_postgres_connection_error(link):
            return True
        if isinstance(link, OSError) and (
            link.errno in _NETWORK_ERRNOS or "connect call failed" in str(link).lower()
        ):
            return True
        if isinstance(
            link, sqlite3.OperationalError | OperationalError | TransactionManagementError
        ):
            text = str(link).lower()
            if any(m in text for m in _MESSAGES):
                return True
        elif any(m in str(link).lower() for m in _MESSAGES[1:]):
            return True
    return False


def dependency_of(exc: BaseException) -> str:
    """Which dependency an `unavailable` exception is about."""
    redis_errors = RedisConnectionError | RedisTimeoutError
    return REDIS if any(isinstance(link, redis_errors) for link in _chain(exc)) else DATABASE


def locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" (another process holds the write lock)."""
    return any("database is locked" in str(link).lower() for link in _chain(exc))


class Watch:
    """The state of one dependency as this process sees it."""

    def __init__(self, name: str, backoff_max: float = 5.0, backoff_base: float = 0.25) -> None:
        self.name = name
        self.backoff_max = backoff_max
        self.backoff_base = backoff_base
        self.down_since: float | None = None
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, exc: BaseException, what: str = "") -> None:
        self.failures += 1
        if self.down_since is None:
            self.down_since = time.monotonic()
            metrics.outage_started(self.name)
            log.warning(
                "%s unavailable%s: %s: %s; retrying with back-off",
                self.name, f" ({what})" if what else "", type(exc).__name__, exc,
                extra={"dependency": self.name, "event": "outage_started"},
            )  # fmt: skip

    def ok(self) -> None:
        if self.down_since is not None:
            seconds = time.monotonic() - self.down_since
            log.info(
                "%s is back after %.1f s (%d failed attempts)", self.name, seconds, self.failures,
                extra={"dependency": self.name, "event": "outage_ended",
                       "seconds": round(seconds, 1)},
            )  # fmt: skip
        self.down_since = None
        self.failures = 0

    def delay(self) -> float:
        """The pause before the next attempt: doubling from backoff_base, capped."""
        if self.failures <= 0:
            return 0.0
        return min(self.backoff_max, self.backoff_base * 2 ** (self.failures - 1))


_watches: dict[str, Watch] = {}


def watch(name: str, backoff_max: float | None = None) -> Watch:
    """The process-wide watch of a dependency (one outage, one pair of log lines)."""
    found = _watches.get(name)
    if found is None:
        found = _watches[name] = Watch(name)
    if backoff_max is not None:
        found.backoff_max = backoff_max
    return found
