"""The database itself enforces the invariants the contract states, on both backends.

Application code checks these first to give friendly errors; the unique indexes are the
last line against races between two requests.
"""

from __future__ import annotations

import uuid

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain import member_states
from domain.clock import utcnow
from domain.member_states import Event
from domain.policies import BUILT_IN_ROLES
from models import (
    Account,
    AccountKind,
    Environment,
    EnvironmentGroup,
    EnvironmentStatus,
    Member,
    MemberStatus,
    Policy,
    Role,
)


async def account(email: str) -> Account:
    return await Account.create(email=email, password_hash="x", kind=AccountKind.FULL)


async def pending(owner: Account, email: str) -> Member:
    return await Member.create(
        owner=owner, email=email, invited_at=utcnow(), status=MemberStatus.PENDING,
        open_slot=email,
    )  # fmt: skip


async def test_one_open_member_per_owner_and_email(orm):
    owner = await account("owner@collab.example")
    first = await pending(owner, "ivy@collab.example")
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await pending(owner, "ivy@collab.example")
    # Once the first record has ended, a new invitation for the email is possible.
    await first.save(update_fields=member_states.transition(first, Event.REMOVE))
    await pending(owner, "ivy@collab.example")
    other_owner = await account("other@collab.example")
    await pending(other_owner, "ivy@collab.example")  # per owner
    assert await Member.filter(email="ivy@collab.example").count() == 3


async def test_environment_names_unique_among_live_environments(orm):
    owner = await account("owner@collab.example")

    async def env(name: str) -> Environment:
        return await Environment.create(
            owner=owner, created_by=owner, name=name, status=EnvironmentStatus.RUNNING
        )

    old = await env("shop")
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await env("shop")
    old.status, old.name_slot = EnvironmentStatus.DELETED, str(old.id)
    await old.save(update_fields=["status", "name_slot"])
    await env("shop")  # a deleted environment's name is free again


async def test_group_names_unique_among_siblings_even_at_the_top(orm):
    owner = await account("owner@collab.example")
    top = await EnvironmentGroup.create(owner=owner, name="prod", parent_slot="")
    with pytest.raises(IntegrityError):  # NULL parents would not collide; the slot does
        async with in_transaction():
            await EnvironmentGroup.create(owner=owner, name="prod", parent_slot="")
    await EnvironmentGroup.create(owner=owner, parent=top, name="prod", parent_slot=str(top.id))


async def test_the_catalogue_is_seeded_and_role_names_are_unique_per_owner(orm):
    assert await Policy.all().count() == 22
    assert await Role.filter(built_in=True).count() == len(BUILT_IN_ROLES)
    owner = await account("owner@collab.example")
    await Role.create(owner=owner, owner_slot=str(owner.id), name="Deployers")
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await Role.create(owner=owner, owner_slot=str(owner.id), name="Deployers")
    other = await account("other@collab.example")
    await Role.create(owner=other, owner_slot=str(other.id), name="Deployers")


async def test_ids_are_random_uuids(orm):
    a, b = await account("a@collab.example"), await account("b@collab.example")
    assert isinstance(a.id, uuid.UUID) and a.id.version == 4 and a.id != b.id


async def test_postgres_connections_come_back_without_a_reset_round_trip(postgres_database):
    """infra.db skips asyncpg's per-release reset (a second round trip after every
    statement, bench/README.md); a transaction left open is still rolled back."""
    from tortoise import Tortoise

    from tests.utils import databases

    await databases.reset(postgres_database)
    try:
        pool = Tortoise.get_connection("default")._pool  # LIFO: the same connection again
        async with pool.acquire() as con:
            await con.execute("SELECT set_config('application_name', 'kept', false)")
            await con.execute("BEGIN")
            await con.execute("SELECT 1")
        async with pool.acquire() as con:
            assert not con.is_in_transaction()
            assert con.get_settings().application_name == "kept"  # no RESET ALL ran
    finally:
        await Tortoise.close_connections()
