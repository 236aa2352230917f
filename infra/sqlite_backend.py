"""SQLite for several processes: WAL, a busy timeout, and write transactions that take the
write lock up front.

Tortoise's SQLite client starts transactions with a plain (deferred) `BEGIN`: a
transaction that reads and then writes must upgrade its lock, and in WAL mode SQLite
refuses that upgrade at once, without waiting out the busy timeout, when another process
wrote in between ("database is locked"). `BEGIN IMMEDIATE` takes the write lock when the
transaction starts, waiting up to `busy_timeout` for it, so two processes queue instead.
Used as the Tortoise engine `infra.sqlite_backend` (see infra.db).
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
