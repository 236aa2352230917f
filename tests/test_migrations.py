"""Migrations apply on SQLite and PostgreSQL, are idempotent, and match the models."""

from __future__ import annotations

import pytest
from tortoise import Tortoise
from tortoise.backends.base import executor

from domain import migrations
from infra.db import tortoise_config
from models import Policy, Role
from tests.conftest import missing_service, port_open
from tests.utils import databases


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'fresh.db'}"
        return
    if not port_open("127.0.0.1", 5432):
        missing_service("PostgreSQL")
    name, url = databases.create_postgres_database()
    yield url
    databases.drop_postgres_database(name)


async def test_migrate_applies_everything_and_is_idempotent(fresh_database):
    executor.EXECUTOR_CACHE.clear()
    first = await migrations.apply(fresh_database)
    assert first and first[0].name == "0001_initial" and first[0].tables > 10
    assert await migrations.apply(fresh_database) == []  # second run: nothing to do
    await Tortoise.init(config=tortoise_config(fresh_database))
    try:
        assert await migrations.pending() == []
        assert await Policy.all().count() == 22
        assert set(await Role.filter(built_in=True).values_list("name", flat=True)) == {
            "Full access", "Limited access", "Viewer", "Creator",
        }  # fmt: skip
    finally:
        await Tortoise.close_connections()


async def test_every_indexed_field_has_its_index(fresh_database):
    """`db_index=True` on a column added by a later migration once created no index (a full
    scan of `sent_email` at the start of every job): the migrated database must have one
    for every such field."""
    executor.EXECUTOR_CACHE.clear()
    await migrations.apply(fresh_database)
    await Tortoise.init(config=tortoise_config(fresh_database))
    try:
        connection = Tortoise.get_connection("default")
        if fresh_database.startswith("sqlite"):
            sql = (
                "SELECT m.name AS tbl, i.name AS col FROM sqlite_master m, "
                "pragma_index_list(m.name) l, pragma_index_info(l.name) i WHERE m.type = 'table'"
            )
        else:
            sql = (
                "SELECT t.relname AS tbl, a.attname AS col FROM pg_index x "
                "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_attribute a "
                "ON a.attrelid = t.oid AND a.attnum = x.indkey[0]"
            )
        indexed = {(r["tbl"], r["col"]) for r in await connection.execute_query_dict(sql)}
        wanted = {
            (model._meta.db_table, field.source_field or name)
            for model in Tortoise.apps["models"].values()
            for name, field in model._meta.fields_map.items()
            if getattr(field, "index", False)
        }
        assert wanted and wanted <= indexed, sorted(wanted - indexed)
    finally:
        await Tortoise.close_connections()


async def test_models_have_no_unmigrated_changes(tmp_path):
    """A model changed without `makemigrations` would make this fail."""
    from tortoise.migrations.autodetector import MigrationAutodetector

    config = tortoise_config(f"sqlite://{tmp_path / 'detect.db'}")
    executor.EXECUTOR_CACHE.clear()
    await Tortoise.init(config=config)
    try:
        from tortoise import connections  # noqa: F401

        apps_dict = {"models": dict(config["apps"]["models"])}
        detector = MigrationAutodetector(Tortoise.apps, apps_dict)
        assert await detector.changes() == []
    finally:
        await Tortoise.close_connections()


async def test_emails_sent_before_claim_states_stay_sent(fresh_database):
    """0003 adds sent_email.status to a table that already has rows: they were sent."""
    from tortoise.migrations.api import migrate as migrate_api

    from models import SentEmail, SentEmailStatus

    config = tortoise_config(fresh_database)
    executor.EXECUTOR_CACHE.clear()
    await migrate_api(config=config, app_labels=["models"], target="models.0001_initial")
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    try:
        await Tortoise.get_connection("default").execute_script(
            "INSERT INTO sent_email (key, recipient, subject, sent_at) "
            "VALUES ('invite:old', 'old@collab.example', 'Old', '2026-01-01 00:00:00+00:00')"
        )
    finally:
        await Tortoise.close_connections()
    await migrations.apply(fresh_database)
    await Tortoise.init(config=config)
    try:
        row = await SentEmail.get(key="invite:old")
        assert row.status is SentEmailStatus.SENT and row.message is None
    finally:
        await Tortoise.close_connections()


async def test_accounts_from_before_preferences_keep_one_email_per_environment(fresh_database):
    """0004 adds account.notification_preference to a table that already has rows: they
    get EACH, today's behaviour."""
    from tortoise.migrations.api import migrate as migrate_api

    from models import Account, NotificationPreference

    config = tortoise_config(fresh_database)
    executor.EXECUTOR_CACHE.clear()
    await migrate_api(config=config, app_labels=["models"], target="models.0003_delivery_leases")
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    try:
        await Tortoise.get_connection("default").execute_script(
            "INSERT INTO account (id, created_at, updated_at, email, display_name, "
            "password_hash, kind) VALUES ('6f1c1d2e-1111-4a4a-8b8b-000000000001', "
            "'2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 'old@collab.example', "
            "'Old', 'x', 'FULL')"
        )
    finally:
        await Tortoise.close_connections()
    await migrations.apply(fresh_database)
    await Tortoise.init(config=config)
    try:
        old = await Account.get(email="old@collab.example")
        assert old.notification_preference is NotificationPreference.EACH
    finally:
        await Tortoise.close_connections()
