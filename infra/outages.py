"""Riding out a database or Redis that went away: classify, back off, log twice.

`unavailable(exc)` says whether an exception means "a dependency is down or busy" rather
than a bug, by type and error code, never by message text:
- the network: `ConnectionError`, `TimeoutError`, a failed name look-up, an `OSError`
  whose errno is a network one;
- Redis: redis-py's `ConnectionError` and `TimeoutError` (`BusyLoadingError` is one),
  and the `limits` package's `StorageError`;
- PostgreSQL: asyncpg's connection errors and `InterfaceError` (a closed or busy
  connection), and any error whose SQLSTATE class is 08 (connection exception), 57
  (operator intervention: shutting down, starting up) or 53 (insufficient resources);
- SQLite: `SQLITE_BUSY` and `SQLITE_LOCKED` (another process holds the write lock);
- Tortoise's `DBConnectionError`.
Tortoise wraps driver errors (`OperationalError(exc)`), so the whole chain is looked at:
causes, contexts and exceptions carried as arguments. `Watch` keeps one line in the log per
outage; its back-off is infra.retries.OUTAGE.
"""

from __future__ import annotations

import errno
import logging
import socket
import sqlite3
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise.exceptions import DBConnectionError

from infra import metrics

log = logging.getLogger("infra.outages")

DATABASE = "database"
REDIS = "redis"

_NETWORK_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE,
                   errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ETIMEDOUT}  # fmt: skip
_SQLSTATE_CLASSES = ("08", "57", "53")
_SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError)
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError, socket.gaierror, DBConnectionError, *_REDIS_ERRORS,
)  # fmt: skip
try:
    from limits.errors import StorageError
except ImportError:  # pragma: no cover - limits is a dependency
    pass
else:
    _REDIS_ERRORS = (*_REDIS_ERRORS, StorageError)
try:
    import asyncpg
except ImportError:  # pragma: no cover - asyncpg ships with tortoise-orm[asyncpg]
    pass
else:
    _NETWORK_ERRORS = (*_NETWORK_ERRORS, asyncpg.PostgresConnectionError,
                       asyncpg.InterfaceError)  # fmt: skip


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 10:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.append(current)
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return seen


def _sqlite_busy(link: BaseException) -> bool:
    code = getattr(link, "sqlite_errorcode", None)
    return isinstance(link, sqlite3.Error) and code is not None and code & 0xFF in _SQLITE_BUSY


def _down(link: BaseException) -> bool:
    if isinstance(link, _NETWORK_ERRORS + _REDIS_ERRORS) or _sqlite_busy(link):
        return True
    sqlstate = getattr(link, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _SQLSTATE_CLASSES:
        return True
    return isinstance(link, OSError) and link.errno in _NETWORK_ERRNOS


def unavailable(exc: BaseException) -> bool:
    return any(_down(link) for link in _chain(exc))


def dependency_of(exc: BaseException) -> str:
    """Which dependency an `unavailable` exception is about."""
    return REDIS if any(isinstance(link, _REDIS_ERRORS) for link in _chain(exc)) else DATABASE


def locked(exc: BaseException) -> bool:
    """SQLite's busy or locked (another process holds the write lock)."""
    return any(_sqlite_busy(link) for link in _chain(exc))


class Watch:
    """The state of one dependency as this process sees it."""

    def __init__(self, name: str, backoff_max: float | None = None,
                 backoff_base: float | None = None) -> None:  # fmt: skip
        from infra.retries import OUTAGE

        self.name = name
        self.backoff_max = OUTAGE.cap if backoff_max is None else backoff_max
        self.backoff_base = OUTAGE.base if backoff_base is None else backoff_base
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
        """The pause before the next attempt (infra.retries.OUTAGE, or this watch's cap)."""
        from infra.retries import Backoff

        return Backoff(self.backoff_base, self.backoff_max).delay(self.failures)


_watches: dict[str, Watch] = {}


def watch(name: str, backoff_max: float | None = None) -> Watch:
    """The process-wide watch of a dependency (one outage, one pair of log lines)."""
    found = _watches.get(name)
    if found is None:
        found = _watches[name] = Watch(name)
    if backoff_max is not None:
        found.backoff_max = backoff_max
    return found
