"""Tortoise ORM below its public API: SQLite transactions that begin IMMEDIATE, and rows
read with raw SQL turned into model instances.

Relied on (tortoise-orm 1.1): `SqliteClient._in_transaction()` builds the transaction
context from `SqliteTransactionWrapper(client)` and the client's `_lock`; the wrapper's
`begin()` runs on its `_connection` (an aiosqlite connection); `Model._init_from_db(**row)`
builds an instance from database values, converting them as a query would; the migration
executor picks the SQLite schema editor because the client's module name contains
"sqlite" (`MigrationExecutor._schema_editor`), which is why this module is named so.
"""

from __future__ import annotations

import sqlite3
from typing import Any, TypeVar

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError
from tortoise.migrations.executor import MigrationExecutor
from tortoise.migrations.schema_editor import SqliteSchemaEditor
from tortoise.models import Model

from infra.adapters import AdapterBroken, require_attribute, require_parameters

ADAPTER = "infra.adapters.tortoise_sqlite"
M = TypeVar("M", bound=Model)


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    """Tortoise's SQLite client whose transactions take the write lock when they begin."""

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


def from_row(model: type[M], row: dict[str, Any]) -> M:
    """A saved instance of `model` from a raw row (column name to database value)."""
    return model._init_from_db(**row)


def verify() -> None:
    require_parameters(ADAPTER, SqliteClient._in_transaction)
    require_parameters(ADAPTER, SqliteTransactionWrapper.__init__, "connection")
    require_parameters(ADAPTER, SqliteTransactionContext.__init__, "connection", "trxlock")
    require_parameters(ADAPTER, SqliteTransactionWrapper.begin)
    client = SqliteClient(":memory:", connection_name="adapter-check")
    for name in ("_lock", "_connection"):
        if name not in vars(client):
            raise AdapterBroken(ADAPTER, f"SqliteClient instances have no {name!r}")
    if "_connection" not in vars(SqliteTransactionWrapper(client)):
        raise AdapterBroken(ADAPTER, "SqliteTransactionWrapper instances have no '_connection'")
    ours = ImmediateSqliteClient(":memory:", connection_name="adapter-check")
    if not isinstance(MigrationExecutor(ours, {})._schema_editor(), SqliteSchemaEditor):
        raise AdapterBroken(ADAPTER, "migrations no longer pick the SQLite schema editor")
    require_attribute(ADAPTER, Model, "_init_from_db")
    require_parameters(ADAPTER, Model._init_from_db.__func__, "kwargs")  # type: ignore[attr-defined]
