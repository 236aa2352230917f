"""Query plans of the statements the service sends: which tables each reads in full.

A lookup by a column without an index costs a read of the whole table, which grows with
every other provider's data (issue 22 measured `invitations` x39-53 and `auditLog` x52-64
after adding a million accounts). `StatementLog` records the statements sent through
Tortoise while active; `full_scans` asks the database for the plan of each and names the
tables it would read in full. PostgreSQL is asked with `enable_seqscan` off, so its answer
does not depend on how many rows the test database happens to hold: a sequential scan
that remains has no index to replace it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from bench.statements import wrapping

# Tables that stay small whatever the number of accounts: the policy catalogue, the
# migration ledger. Reading them in full is cheaper than any index.
SMALL_TABLES = frozenset({"policy", "tortoise_migrations"})

_METHODS = ("execute_query", "execute_query_dict", "execute_many")
_READS = re.compile(r"^\s*(SELECT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)
_PG_SCAN = re.compile(r"Seq Scan on (\w+)")
_SQLITE_SCAN = re.compile(r"^SCAN (\w+)(?! USING (?:INTEGER PRIMARY KEY|ROWID))")


@dataclass(frozen=True)
class Statement:
    sql: str
    values: tuple[Any, ...]


class StatementLog:
    """The distinct read, update and delete statements sent while `recording`."""

    def __init__(self) -> None:
        self.statements: dict[str, Statement] = {}

    @contextmanager
    def recording(self) -> Iterator[None]:
        with wrapping(_client_classes(), _METHODS, self._wrap):
            yield

    def _wrap(self, original: Any) -> Any:
        log = self

        async def wrapper(client: Any, query: str, values: Any = None, *rest: Any) -> Any:
            if _READS.match(query) and query not in log.statements and not _from_tests():
                rows = values if isinstance(values, list | tuple) else ()
                flat = rows[0] if rows and isinstance(rows[0], list | tuple) else rows
                log.statements[query] = Statement(query, tuple(flat))
            return await original(client, query, values, *rest)

        return wrapper


def _from_tests() -> bool:
    """Sent by a test's own helper (reading the outbox for an emailed token), not by us."""
    frame = sys._getframe(2)
    while frame is not None and (
        "/tortoise/" in frame.f_code.co_filename or "/pypika" in frame.f_code.co_filename
    ):
        frame = frame.f_back  # type: ignore[assignment]
    return frame is not None and f"{os.sep}tests{os.sep}" in frame.f_code.co_filename


def _client_classes() -> set[type]:
    """The default client's classes and its transactions' (a method may live on either)."""
    client = type(Tortoise.get_connection("default"))
    transaction = getattr(client, "_transaction_class", None)
    classes = set(client.__mro__) | (set(transaction.__mro__) if transaction else set())
    return {c for c in classes if issubclass(c, BaseDBAsyncClient)}


async def full_scans(statement: Statement, dialect: str) -> set[str]:
    """The tables (other than `SMALL_TABLES`) this statement's plan reads in full."""
    async with in_transaction() as connection:
        if dialect == "postgres":
            await connection.execute_script("SET LOCAL enable_seqscan = off")
            _, rows = await connection.execute_query(
                f"EXPLAIN {statement.sql}", list(statement.values)
            )
            lines = [str(next(iter(dict(row).values()))) for row in rows]
            found = {m.group(1) for line in lines for m in _PG_SCAN.finditer(line)}
        else:
            _, rows = await connection.execute_query(
                f"EXPLAIN QUERY PLAN {statement.sql}", list(statement.values)
            )
            details = [str(dict(row)["detail"]) for row in rows]
            found = {m.group(1) for d in details if (m := _SQLITE_SCAN.match(d))}
    return (found & _tables()) - SMALL_TABLES


def _tables() -> set[str]:
    """Our tables' names (a plan also scans constant rows, subqueries and CTEs)."""
    return {model._meta.db_table for app in Tortoise.apps.values() for model in app.values()}


async def scans_by_statement(statements: Sequence[Statement], dialect: str) -> dict[str, set[str]]:
    """Each statement that reads a large table in full, with those tables."""
    result: dict[str, set[str]] = {}
    for statement in statements:
        if tables := await full_scans(statement, dialect):
            result[statement.sql] = tables
    return result
