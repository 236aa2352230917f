"""Guard tests for the adapters over private library code (docs/architecture.md).

Each adapter's `verify()` checks the names and signatures it relies on; the tests below
check that each hook is really called, so a library upgrade that silently bypasses one
(as graphql-core 3.3 once did to the enum shortcut) fails here, naming the adapter.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import strawberry
from arq.connections import RedisSettings, create_pool
from arq.worker import func
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from gateway.adapters import uvicorn_server
from infra.adapters import AdapterBroken, tortoise_sqlite
from infra.db import tortoise_config
from models.enums import EnvironmentStatus
from schema import enums, execution
from schema.adapters import strawberry_graphql
from schema.enums import serialize_enums_by_lookup
from schema.errors import CollabSchema
from schema.execution import PlainFieldExecutor
from workers.adapters import aiosmtplib_client, arq_worker

ADAPTERS: list[ModuleType] = [
    tortoise_sqlite, strawberry_graphql, arq_worker, aiosmtplib_client, uvicorn_server,
]  # fmt: skip


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda m: m.ADAPTER)
def test_what_each_adapter_relies_on_is_still_there(adapter: ModuleType) -> None:
    adapter.verify()  # raises AdapterBroken("adapter <name>: <what changed>")


def test_a_broken_adapter_says_which_one() -> None:
    from infra.adapters import require_parameters

    def changed(self: object, other: int) -> None: ...

    with pytest.raises(AdapterBroken, match=r"adapter x\.y: .*no longer takes"):
        require_parameters("x.y", changed, "sockets")


# -- schema.adapters.strawberry_graphql --------------------------------------------------


@strawberry.type
class Probe:
    status: EnvironmentStatus  # a plain field: the executor's shortcut completes it
    statuses: list[EnvironmentStatus]

    @strawberry.field
    def computed(self) -> EnvironmentStatus:  # graphql-core's own path
        return EnvironmentStatus.STOPPED


@strawberry.type
class Query:
    @strawberry.field
    def probes(self) -> list[Probe]:
        return [Probe(status=EnvironmentStatus.RUNNING, statuses=[EnvironmentStatus.DELETED])] * 3


def _schema() -> CollabSchema:
    schema = CollabSchema(query=Query, execution_context_class=PlainFieldExecutor)
    serialize_enums_by_lookup(schema)
    return schema


class CountingNames(dict[Any, str]):
    lookups = 0

    def __getitem__(self, key: Any) -> str:
        CountingNames.lookups += 1
        return super().__getitem__(key)


async def test_enum_fields_are_completed_through_the_dict_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fails (naming the adapter) if graphql-core or Strawberry completes an enum without
    calling the shortcut: plain fields, lists of enums and resolver fields alike."""
    monkeypatch.setattr(enums, "member_names", lambda enum: CountingNames(
        {m: m.name for m in enum}))  # fmt: skip
    CountingNames.lookups = 0
    result = await _schema().execute("{ probes { status statuses computed } }")
    assert result.errors is None
    assert result.data == {"probes": [{"status": "RUNNING", "statuses": ["DELETED"],
                                       "computed": "STOPPED"}] * 3}  # fmt: skip
    assert CountingNames.lookups == 9, (
        f"adapter {strawberry_graphql.ADAPTER}: the enum shortcut was called "
        f"{CountingNames.lookups} times for 9 enum values (bypassed by an upgrade?)"
    )


async def test_plain_fields_take_the_executors_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    completed: list[str] = []
    complete: Callable[..., Any] = execution.PlainField.complete

    def spy(self: execution.PlainField, source: Any) -> Any:
        completed.append(self.attribute)
        return complete(self, source)

    monkeypatch.setattr(execution.PlainField, "complete", spy)
    monkeypatch.setattr(execution, "_PLANS", {})
    result = await _schema().execute("{ probes { status statuses computed } }")
    assert result.errors is None
    assert completed.count("status") == 3 and completed.count("statuses") == 3, (
        f"adapter {strawberry_graphql.ADAPTER}: graphql-core no longer calls "
        f"execute_field per field, or the plan no longer recognises plain fields"
    )


# -- infra.adapters.tortoise_sqlite ------------------------------------------------------


async def test_sqlite_transactions_take_the_write_lock_when_they_begin(tmp_path: Path) -> None:
    path = tmp_path / "lock.sqlite3"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()
    config = tortoise_config(f"sqlite://{path}")
    async with TortoiseContext() as context:
        await context.init(config=config)
        async with in_transaction("default"):  # nothing written yet
            other = sqlite3.connect(path, timeout=0)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()


# -- workers.adapters.arq_worker ---------------------------------------------------------


async def _job(ctx: dict[str, Any]) -> str:
    return "done"


class CountingWorker(arq_worker.HookedWorker):
    polls = 0
    offered: list[bytes] = []

    async def around_poll(self) -> None:
        CountingWorker.polls += 1
        await self.poll_once()

    def jobs_to_start(self, job_ids: list[bytes]) -> list[bytes]:
        CountingWorker.offered.extend(job_ids)
        return job_ids


async def test_arq_calls_the_poll_hook_and_the_start_filter(redis_url: str) -> None:
    queue = f"guard:{uuid.uuid4().hex}"
    settings = RedisSettings.from_dsn(redis_url)
    pool = await create_pool(settings, default_queue_name=queue)
    try:
        job = await pool.enqueue_job("_job")
        assert job is not None
        worker = CountingWorker(functions=[func(_job, name="_job")], redis_settings=settings,
                                queue_name=queue, burst=True, poll_delay=0.01,
                                handle_signals=False)  # fmt: skip
        await asyncio.wait_for(worker.main(), 10)
        await worker.close()
        assert CountingWorker.polls >= 1, f"adapter {arq_worker.ADAPTER}: poll hook not called"
        assert job.job_id.encode() in CountingWorker.offered, (
            f"adapter {arq_worker.ADAPTER}: start_jobs no longer gets the polled ids"
        )
        assert worker.jobs_complete == 1
    finally:
        await pool.aclose()
