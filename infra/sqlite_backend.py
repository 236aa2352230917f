"""SQLite for several processes: WAL, a busy timeout, and write transactions that take the
write lock up front.

Tortoise's SQLite client starts transactions with a plain (deferred) `BEGIN`: a
transaction that reads and then writes must upgrade its lock, and in WAL mode SQLite
refuses that upgrade at once, without waiting out the busy timeout, when another process
wrote in between ("database is locked"). `BEGIN IMMEDIATE` takes the write lock when the
transaction starts, waiting up to `busy_timeout` for it, so two processes queue instead.
Used as the Tortoise engine `infra.sqlite_backend` (see infra.db); the client itself
reaches into Tortoise's private names, so it lives in infra.adapters.tortoise_sqlite.
"""

from __future__ import annotations

from infra.adapters.tortoise_sqlite import ImmediateSqliteClient

client_class = ImmediateSqliteClient
