"""Benchmark: the effective-policy resolver behind list queries, on a big owner.

Builds an owner with ENVS environments in a GROUPS-group tree and a member with group,
direct and root shares, then runs `environments` (as the owner) and `sharedWithMe` (as the
member) through the real schema, printing wall time and the number of SQL statements.
The statement count must not grow with the number of environments (no N+1).

    .venv/bin/python bench/access.py                       # temporary SQLite file
    DATABASE_URL=postgres://... .venv/bin/python bench/access.py --envs 2000 --groups 200

Run on demand; not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient

from collab import migrations
from collab.db import tortoise_config
from collab.settings import Settings
from domain.clock import utcnow
from domain.policies import BUILT_IN_ROLES
from models import (
    Account,
    AccountKind,
    Environment,
    EnvironmentGroup,
    EnvironmentStatus,
    GroupEnvironment,
    Member,
    MemberStatus,
    Share,
    ShareRole,
    ShareTargetType,
)
from schema.context import Context, Services
from schema.root import schema

ENVIRONMENTS = """{ environments { id name status myPolicies groups { id }
  logs resourceUsage { cloudlets } collaborators { inherited roles { name } } } }"""
SHARED_WITH_ME = """{ sharedWithMe { owner { id } member { id } canCreateEnvironments
  environments { id name myPolicies sshAccess logs groups { id } }
  groups { id name children { id children { id } environments { id } } environments { id } } } }"""


class QueryCounter:
    """Counts every statement sent through Tortoise's clients."""

    METHODS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many",
               "execute_script")  # fmt: skip

    def __init__(self) -> None:
        self.count = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        originals: list[tuple[type, str, Any]] = []
        for cls in {type(Tortoise.get_connection("default")), BaseDBAsyncClient}:
            for name in self.METHODS:
                if name in cls.__dict__:
                    original = cls.__dict__[name]
                    originals.append((cls, name, original))
                    setattr(cls, name, self._wrap(original))
        try:
            yield
        finally:
            for cls, name, original in originals:
                setattr(cls, name, original)

    def _wrap(self, original: Any) -> Any:
        counter = self

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            return await original(*args, **kwargs)

        return wrapper


async def build(envs: int, groups: int, seed: int) -> tuple[Account, Account]:
    rng = random.Random(seed)
    owner = await Account.create(
        email=f"owner-{uuid.uuid4().hex[:6]}@bench.example",
        display_name="Owner",
        password_hash="x",
        kind=AccountKind.FULL,
    )
    member_account = await Account.create(email=f"member-{uuid.uuid4().hex[:6]}@bench.example",
                                          display_name="Member", password_hash="x",
                                          kind=AccountKind.COLLABORATOR)  # fmt: skip
    group_rows: list[EnvironmentGroup] = []
    for i in range(groups):
        parent = rng.choice(group_rows) if group_rows and rng.random() < 0.8 else None
        group_rows.append(EnvironmentGroup(
            id=uuid.uuid4(), owner_id=owner.id, parent_id=parent.id if parent else None,
            parent_slot=str(parent.id) if parent else "", name=f"group-{i}",
        ))  # fmt: skip
    await EnvironmentGroup.bulk_create(group_rows, batch_size=500)
    env_rows = [
        Environment(id=uuid.uuid4(), owner_id=owner.id, created_by_id=owner.id, name=f"env-{i}",
                    display_name=f"Env {i}", status=EnvironmentStatus.RUNNING, name_slot="")
        for i in range(envs)
    ]  # fmt: skip
    await Environment.bulk_create(env_rows, batch_size=500)
    placements = [
        GroupEnvironment(id=uuid.uuid4(), group_id=g.id, environment_id=e.id)
        for e in env_rows
        for g in rng.sample(group_rows, k=min(len(group_rows), rng.choice([0, 1, 1, 2])))
    ]
    await GroupEnvironment.bulk_create(placements, batch_size=500)
    member = await Member.create(
        owner_id=owner.id, email=member_account.email, account_id=member_account.id,
        status=MemberStatus.ACTIVE, invited_at=utcnow(), accepted_at=utcnow(),
        open_slot=member_account.email,
    )  # fmt: skip
    roles = [r.id for r in BUILT_IN_ROLES]
    targets: list[tuple[ShareTargetType, uuid.UUID | None]] = [(ShareTargetType.ROOT, None)]
    targets += [(ShareTargetType.GROUP, g.id) for g in rng.sample(group_rows, k=groups // 10)]
    targets += [(ShareTargetType.ENVIRONMENT, e.id) for e in rng.sample(env_rows, k=envs // 20)]
    for kind, target in targets:
        key = (
            "root"
            if target is None
            else f"{'env' if kind is ShareTargetType.ENVIRONMENT else 'group'}:{target}"
        )
        share = await Share.create(
            member_id=member.id, target_type=kind, target_key=key,
            environment_id=target if kind is ShareTargetType.ENVIRONMENT else None,
            group_id=target if kind is ShareTargetType.GROUP else None,
        )  # fmt: skip
        await ShareRole.create(id=uuid.uuid4(), share_id=share.id, role_id=rng.choice(roles[:3]))
    return owner, member_account


async def run(query: str, account: Account, settings: Settings, counter: QueryCounter) -> None:
    context = Context(
        services=Services(
            settings=settings,
            after_commit=None,  # type: ignore[arg-type]
            limiter=None,
        ),
        account=account,
    )  # type: ignore[arg-type]
    counter.count = 0
    started = time.perf_counter()
    with counter.counting():
        result = await schema.execute(query, context_value=context)
    elapsed = time.perf_counter() - started
    errors = result.errors or []
    unexpected = [e for e in errors if (e.extensions or {}).get("code") != "FORBIDDEN"]
    assert not unexpected, unexpected[:3]
    data = result.data or {}
    size = len(data.get("environments") or []) or sum(
        len(s["environments"]) for s in data.get("sharedWithMe") or []
    )
    name = query.split("{", 2)[1].split()[0]
    print(f"{name:<14} {elapsed * 1000:8.1f} ms  {counter.count:4d} SQL statements  "
          f"{size} environments  {len(errors)} guarded fields refused")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)  # refused fields
    url = os.environ.get("DATABASE_URL")
    if not url:
        url = f"sqlite://{Path(tempfile.mkdtemp()) / 'bench.db'}"
    await migrations.apply(url)
    await Tortoise.init(config=tortoise_config(url))
    try:
        settings = Settings(_env_file=None, DATABASE_URL=url)  # type: ignore[call-arg]
        started = time.perf_counter()
        owner, member = await build(args.envs, args.groups, args.seed)
        print(f"built {args.envs} environments in {args.groups} groups "
              f"in {time.perf_counter() - started:.1f} s on {url.split(':')[0]}")  # fmt: skip
        for _ in range(args.repeat):
            await run(ENVIRONMENTS, owner, settings, QueryCounter())
            await run(SHARED_WITH_ME, member, settings, QueryCounter())
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(main())
